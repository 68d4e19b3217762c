//! The one error type of the library.
//!
//! Policy: at a model's boundary (applying a model, unraveling a flat vector,
//! loading saved values, giving fixed data) every value is checked before any
//! operation uses it, and a problem comes back as an [`Error`]. Inside model
//! code, operators panic on programmer errors such as mismatched shapes, with a
//! message naming the op and both shapes, as NumPy raises.

use crate::shape::Shape;

/// Everything that can go wrong at a checked boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value's data does not fill its shape.
    #[error("data of length {actual} does not fill shape {shape} ({expected} elements)")]
    DataLength {
        /// The requested shape.
        shape: Shape,
        /// Elements the shape holds.
        expected: usize,
        /// Elements given.
        actual: usize,
    },
    /// A named value (a parameter path, a fixed input) has the wrong shape.
    #[error("`{path}`: expected shape {expected}, got {actual}")]
    Shape {
        /// Path of the value, e.g. `field.xi`.
        path: String,
        /// The declared shape.
        expected: Shape,
        /// The shape given.
        actual: Shape,
    },
    /// A flat vector or a list has the wrong length.
    #[error("`{path}`: expected length {expected}, got {actual}")]
    Length {
        /// What the length is of, e.g. `flat parameters` or `layers`.
        path: String,
        /// The required length.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A value that should be present is not (a parameter not reached while
    /// initialising, an entry missing from a file).
    #[error("`{path}`: missing")]
    Missing {
        /// Path of the value.
        path: String,
    },
    /// A given value that the model does not declare for its arguments: a
    /// parameter in a branch not taken, or of a component not called. An
    /// empty tensor stands for such a value, as in what `zeros` returns.
    #[error(
        "`{path}`: given, but the model does not declare it for these arguments; \
         leave it empty (`Tensor::zeros([0])`), as `zeros` and `normal` do"
    )]
    Unused {
        /// Path of the value.
        path: String,
    },
    /// Saved values do not match the tree they are loaded into.
    #[error("could not load: {}", load_report(missing, unexpected, misshapen))]
    Load {
        /// Paths the tree has and the file lacks.
        missing: Vec<String>,
        /// Paths the file has and the tree lacks.
        unexpected: Vec<String>,
        /// Paths whose shapes differ, with both shapes.
        misshapen: Vec<String>,
    },
    /// A file could not be read or written.
    #[error("`{path}`: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A file's contents are not in the expected format.
    #[error("invalid {format}: {message}")]
    Format {
        /// The format (`JSON`, `safetensors`).
        format: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An argument outside an operation's domain.
    #[error("{op}: {message}")]
    InvalidArgument {
        /// The operation or function.
        op: &'static str,
        /// What is wrong with the argument.
        message: String,
    },
    /// A matrix that must be positive definite is not.
    #[error("{op}: matrix of shape {shape} is not positive definite")]
    NotPositiveDefinite {
        /// The operation.
        op: &'static str,
        /// The matrix shape.
        shape: Shape,
    },
    /// A function could not be compiled (see [`compile`](crate::compile())).
    #[error("compile: {reason}")]
    Compile {
        /// Why, and where in the source when a place is to blame.
        reason: String,
    },
    /// An error raised for a model's marker, such as a variable's prior
    /// whose parameters are invalid: the marker's path, and the error.
    #[error("`{path}`: {source}")]
    At {
        /// Path of the marker, e.g. `group.tau`.
        path: String,
        /// What went wrong there.
        source: Box<Error>,
    },
    /// A square matrix that must be invertible is singular.
    #[error("{op}: matrix of shape {shape} is singular")]
    Singular {
        /// The operation.
        op: &'static str,
        /// The matrix shape.
        shape: Shape,
    },
}

impl Error {
    /// This error, said to have happened at the marker `path`.
    ///
    /// ```
    /// use jaxpurify_runtime::Error;
    /// let e = Error::Missing { path: "x".into() }.at("group.tau");
    /// assert_eq!(e.to_string(), "`group.tau`: `x`: missing");
    /// ```
    pub fn at(self, path: &str) -> Error {
        Error::At {
            path: path.to_string(),
            source: Box::new(self),
        }
    }
}

/// `Result` with this library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Lists of a load report name at most this many entries each.
const LISTED: usize = 10;

fn load_report(missing: &[String], unexpected: &[String], misshapen: &[String]) -> String {
    // Only unexpected names come from the file; the others are the tree's.
    let list = |what: &str, items: &[String], quote: fn(&str) -> String| {
        (!items.is_empty()).then(|| {
            let mut quoted: Vec<String> = items.iter().take(LISTED).map(|i| quote(i)).collect();
            if items.len() > LISTED {
                quoted.push(format!("and {} more", items.len() - LISTED));
            }
            format!("{what} {}", quoted.join(", "))
        })
    };
    let plain = |i: &str| format!("`{i}`");
    [
        list("missing", missing, plain),
        list("unexpected", unexpected, quoted),
        list("misshapen", misshapen, plain),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ")
}

/// Characters a name read from a file keeps in a message, so that a long
/// name cannot drown the rest.
const QUOTED_CHARS: usize = 80;

/// A name read from a file, between backticks for a message: control
/// characters, terminal escapes and other invisible characters are escaped
/// (`\u{1b}`), as are backticks and backslashes, so that what is printed is
/// what the file holds and cannot act on the terminal; a long name is cut.
///
/// ```
/// # use jaxpurify_runtime::Error;
/// let e = Error::Load { missing: vec![], unexpected: vec!["w\u{1b}[2J`".into()], misshapen: vec![] };
/// assert_eq!(e.to_string(), "could not load: unexpected `w\\u{1b}[2J\\``");
/// ```
pub(crate) fn quoted(name: &str) -> String {
    let mut out = String::from("`");
    for c in name.chars().take(QUOTED_CHARS) {
        match c {
            '`' | '\\' => out.extend(['\\', c]),
            _ => push_printable(&mut out, c),
        }
    }
    out.push('`');
    if name.chars().nth(QUOTED_CHARS).is_some() {
        out.push_str(&format!(" (cut, {} bytes in all)", name.len()));
    }
    out
}

/// Characters a message taken from a parser keeps.
const MESSAGE_CHARS: usize = 400;

/// A parser's message about a file, which may quote the file: control and
/// invisible characters escaped as in [`quoted`], cut when long.
pub(crate) fn printable(message: &str) -> String {
    let mut out = String::new();
    for c in message.chars().take(MESSAGE_CHARS) {
        push_printable(&mut out, c);
    }
    if message.chars().nth(MESSAGE_CHARS).is_some() {
        out.push_str("...");
    }
    out
}

/// `c`, or its escape when a terminal would not show it as itself.
fn push_printable(out: &mut String, c: char) {
    match c {
        // Printable, but `escape_debug` escapes them for Rust literals.
        '"' | '\'' | '\\' => out.push(c),
        _ => out.extend(c.escape_debug()),
    }
}
