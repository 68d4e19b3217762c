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
        errors.extend(clash(earlier, later));
    }
    errors
}

/// The error for two markers claiming one field, at both places.
fn clash(earlier: &Marker, later: &Marker) -> [syn::Error; 2] {
    let name = later.name.unraw();
    let message = if earlier.kind == later.kind && earlier.indexed != later.indexed {
        format!("`{name}` is declared both as a list (`{name}[i]`) and as a single value; use one form")
    } else if earlier.from_let && later.from_let && earlier.name == later.name && earlier.kind == later.kind {
        format!(
            "two `{}` markers take the name `{name}` from their `let`; give each its own with `name = \"...\"`",
            later.kind.macro_name()
        )
    } else if later.kind == Kind::Sub && earlier.kind == Kind::Sub {
        format!("component `{name}` is used twice; name each use, e.g. `sub!({name}_2 = {name}(...))`")
    } else {
        format!(
            "duplicate name `{name}`: already declared by `{}`",
            earlier.kind.macro_name()
        )
    };
    let first = match earlier.kind {
        Kind::Sub => "first used here",
        _ => "first declared here",
    };
    [
        syn::Error::new_spanned(&later.site, message),
        syn::Error::new_spanned(&earlier.site, format!("`{name}` {first}")),
    ]
}
