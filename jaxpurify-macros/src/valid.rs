//! Checks across markers: every struct field is declared by one marker (or
//! by several sites of one list), and lists are not mixed with single values.

use crate::collect::Marker;
use crate::marker::Kind;
use syn::ext::IdentExt;

/// The generated structs a marker kind contributes a field to.
fn structs(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Param => &["Params"],
        Kind::Fixed => &["Fixed"],
        Kind::Intermediate => &["Intermediates"],
        Kind::Sub => &["Params", "Fixed", "Intermediates"],
        Kind::Variable(_) => &["Params", "Intermediates"],
    }
}

/// Every naming problem, each pointing at the user's tokens.
pub fn check(markers: &[Marker]) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    for (j, later) in markers.iter().enumerate() {
        let earlier = markers[..j].iter().find(|m| {
            m.name == later.name && structs(m.kind).iter().any(|s| structs(later.kind).contains(s))
        });
        let Some(earlier) = earlier else { continue };
        if earlier.kind == later.kind && earlier.indexed && later.indexed {
            continue;
        }
        errors.push(clash(earlier, later));
    }
    errors
}

/// The error for two markers claiming one field: at the later one, naming
/// the line of the earlier (a proc macro cannot attach a note with a place
/// of its own to an error, and a second error would read as a second
/// problem).
fn clash(earlier: &Marker, later: &Marker) -> syn::Error {
    let name = later.name.unraw();
    let (seen, verb) = match earlier.kind {
        Kind::Sub => ("used", "first used"),
        _ => ("declared", "first declared"),
    };
    let line = line_of(&earlier.site);
    let on_line = |what: &str| line.map_or(String::new(), |l| format!(" ({what} on line {l})"));
    let message = if earlier.kind == later.kind && earlier.indexed != later.indexed {
        format!(
            "`{name}` is declared both as a list (`{name}[i]`) and as a single value{}; use one form",
            on_line("the other")
        )
    } else if earlier.from_let && later.from_let && earlier.kind == later.kind {
        format!(
            "two `{}` markers take the name `{name}` from their `let`{}; give each its own with `name = \"...\"`",
            later.kind.macro_name(),
            on_line("the other")
        )
    } else if later.kind == Kind::Sub && earlier.kind == Kind::Sub {
        format!(
            "component `{name}` is used twice{}; name each use, e.g. `sub!({name}_2 = {name}(...))`",
            on_line(verb)
        )
    } else {
        let place = line.map_or(String::new(), |l| format!(" on line {l}"));
        format!(
            "duplicate name `{name}`: already {seen} by `{}`{place}",
            earlier.kind.macro_name()
        )
    };
    syn::Error::new_spanned(&later.site, message)
}

/// The line where `tokens` start, when the compiler tells.
fn line_of(tokens: &proc_macro2::TokenStream) -> Option<usize> {
    let first = tokens.clone().into_iter().next()?;
    Some(first.span().start().line).filter(|&line| line > 0)
}
