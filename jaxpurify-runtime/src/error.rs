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

fn load_report(missing: &[String], unexpected: &[String], misshapen: &[String]) -> String {
    let list = |what: &str, items: &[String]| {
        (!items.is_empty()).then(|| {
            let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
            format!("{what} {}", quoted.join(", "))
        })
    };
    [
        list("missing", missing),
        list("unexpected", unexpected),
        list("misshapen", misshapen),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ")
}
