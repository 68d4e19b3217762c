//! The markers and the parsing of their arguments.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprCall, Ident, LitStr, Macro, Token, bracketed};

/// Every marker `#[purify]` rewrites, by macro name.
pub const MARKERS: &[&str] = &[
    "param",
    "fixed",
    "intermediate",
    "sub",
    "normal_variable",
    "log_normal_variable",
    "uniform_variable",
    "laplace_variable",
    "inverse_gamma_variable",
    "cauchy_variable",
    "half_cauchy_variable",
    "half_normal_variable",
    "half_student_t_variable",
    "gamma_variable",
    "beta_variable",
    "variable",
];

/// What a marker declares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Param,
    Fixed,
    Intermediate,
    Sub,
    Variable(Prior),
}

/// The whitened transform of a `*_variable!` marker.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Prior {
    Normal,
    LogNormal,
    Uniform,
    Laplace,
    InverseGamma,
    Cauchy,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    Gamma,
    Beta,
    /// `variable!(PRIOR)`: the user's own prior, given as a value.
    Given,
}

impl Prior {
    /// The keys the marker requires, in the order the prior's constructor
    /// takes them.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Prior::Normal | Prior::LogNormal => &["mean", "sigma"],
            Prior::Uniform => &["low", "high"],
            Prior::Laplace => &["loc", "scale"],
            Prior::InverseGamma => &["shape", "scale"],
            Prior::Cauchy => &["loc", "scale"],
            Prior::HalfCauchy | Prior::HalfNormal => &["scale"],
            Prior::HalfStudentT => &["dof", "scale"],
            Prior::Gamma => &["shape", "rate"],
            Prior::Beta => &["alpha", "beta"],
            Prior::Given => &[],
        }
    }

    /// Valid values for the keys, for the example in an error message.
    fn example_values(self) -> &'static [&'static str] {
        match self {
            Prior::Normal | Prior::Uniform | Prior::Laplace | Prior::Cauchy => &["0.0", "1.0"],
            Prior::LogNormal => &["1.0", "0.5"],
            Prior::InverseGamma | Prior::Gamma | Prior::Beta | Prior::HalfStudentT => &["2.0", "1.0"],
            Prior::HalfCauchy | Prior::HalfNormal => &["1.0"],
            Prior::Given => &[],
        }
    }

    /// The runtime type implementing the transform.
    pub fn type_name(self) -> &'static str {
        match self {
            Prior::Normal => "Normal",
            Prior::LogNormal => "LogNormal",
            Prior::Uniform => "Uniform",
            Prior::Laplace => "Laplace",
            Prior::InverseGamma => "InverseGamma",
            Prior::Cauchy => "Cauchy",
            Prior::HalfCauchy => "HalfCauchy",
            Prior::HalfNormal => "HalfNormal",
            Prior::HalfStudentT => "HalfStudentT",
            Prior::Gamma => "Gamma",
            Prior::Beta => "Beta",
            Prior::Given => "IntoPrior",
        }
    }
}

impl Kind {
    /// The marker a macro invocation names, if any: `param!` or
    /// `jaxpurify::param!`.
    pub fn of(mac: &Macro) -> Option<Kind> {
        let segments = &mac.path.segments;
        let prefix_ok = segments.len() == 1 || (segments.len() == 2 && segments[0].ident == "jaxpurify");
        match prefix_ok {
            true => Kind::from_macro_name(&segments.last()?.ident.to_string()),
            false => None,
        }
    }

    pub fn from_macro_name(name: &str) -> Option<Kind> {
        Some(match name {
            "param" => Kind::Param,
            "fixed" => Kind::Fixed,
            "intermediate" => Kind::Intermediate,
            "sub" => Kind::Sub,
            "normal_variable" => Kind::Variable(Prior::Normal),
            "log_normal_variable" => Kind::Variable(Prior::LogNormal),
            "uniform_variable" => Kind::Variable(Prior::Uniform),
            "laplace_variable" => Kind::Variable(Prior::Laplace),
            "inverse_gamma_variable" => Kind::Variable(Prior::InverseGamma),
            "cauchy_variable" => Kind::Variable(Prior::Cauchy),
            "half_cauchy_variable" => Kind::Variable(Prior::HalfCauchy),
            "half_normal_variable" => Kind::Variable(Prior::HalfNormal),
            "half_student_t_variable" => Kind::Variable(Prior::HalfStudentT),
            "gamma_variable" => Kind::Variable(Prior::Gamma),
            "beta_variable" => Kind::Variable(Prior::Beta),
            "variable" => Kind::Variable(Prior::Given),
            _ => return None,
        })
    }

    pub fn macro_name(self) -> &'static str {
        match self {
            Kind::Param => "param!",
            Kind::Fixed => "fixed!",
            Kind::Intermediate => "intermediate!",
            Kind::Sub => "sub!",
            Kind::Variable(Prior::Normal) => "normal_variable!",
            Kind::Variable(Prior::LogNormal) => "log_normal_variable!",
            Kind::Variable(Prior::Uniform) => "uniform_variable!",
            Kind::Variable(Prior::Laplace) => "laplace_variable!",
            Kind::Variable(Prior::InverseGamma) => "inverse_gamma_variable!",
            Kind::Variable(Prior::Cauchy) => "cauchy_variable!",
            Kind::Variable(Prior::HalfCauchy) => "half_cauchy_variable!",
            Kind::Variable(Prior::HalfNormal) => "half_normal_variable!",
            Kind::Variable(Prior::HalfStudentT) => "half_student_t_variable!",
            Kind::Variable(Prior::Gamma) => "gamma_variable!",
            Kind::Variable(Prior::Beta) => "beta_variable!",
            Kind::Variable(Prior::Given) => "variable!",
        }
    }

    /// The keys this marker accepts after its positional argument.
    fn keys(self) -> Vec<&'static str> {
        match self {
            Kind::Variable(prior) => prior.keys().iter().copied().chain(["name"]).collect(),
            _ => vec!["name"],
        }
    }
}

/// A name given in the marker: `name = x`, `name = "x"` or `name = w[i]`.
pub struct GivenName {
    pub ident: Ident,
    pub index: Option<Expr>,
}

impl Parse for GivenName {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let ident = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            lit.parse::<Ident>().map_err(|_| {
                syn::Error::new_spanned(
                    &lit,
                    "a marker name must be a Rust identifier, e.g. `name = \"xi\"`",
                )
            })?
        } else {
            input.parse()?
        };
        let index = if input.peek(syn::token::Bracket) {
            let content;
            bracketed!(content in input);
            Some(content.parse()?)
        } else {
            None
        };
        Ok(GivenName { ident, index })
    }
}

/// One `key = value` argument.
struct KeyValue {
    key: Ident,
    value: TokenStream,
}

impl Parse for KeyValue {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let mut value = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![,]) {
            value.extend([input.parse::<proc_macro2::TokenTree>()?]);
        }
        if value.is_empty() {
            return Err(syn::Error::new_spanned(&key, format!("`{key} =` needs a value")));
        }
        Ok(KeyValue { key, value })
    }
}

/// A marker's parsed arguments.
pub struct Args {
    /// `param!`/`fixed!`: the shape; `intermediate!`: the value; `sub!`: the call.
    pub positional: Option<Expr>,
    pub name: Option<GivenName>,
    /// `*_variable!`: the prior's arguments in the constructor's order.
    pub prior_args: Vec<Expr>,
}

/// Parses the arguments of a marker of `kind`.
/// `span` (the marker's name) is where errors about missing pieces point.
pub fn parse_args(kind: Kind, tokens: TokenStream, span: Span) -> syn::Result<Args> {
    syn::parse::Parser::parse2(|input: ParseStream| parse_args_from(kind, input, span), tokens)
}

fn parse_args_from(kind: Kind, input: ParseStream, span: Span) -> syn::Result<Args> {
    let mut args = Args {
        positional: None,
        name: None,
        prior_args: Vec::new(),
    };
    match kind {
        Kind::Sub => return parse_sub(input),
        Kind::Variable(prior) if prior != Prior::Given => {}
        _ => {
            if input.is_empty() {
                let what = match kind {
                    Kind::Intermediate => "a value",
                    Kind::Variable(_) => {
                        "a prior, e.g. `variable!(priors::HalfCauchy::new(5.0))` or `variable!(|xi: &Tensor| xi.exp())`"
                    }
                    _ => "a shape, e.g. `3`, `[2, 3]` or `()`",
                };
                return Err(syn::Error::new(
                    span,
                    format!("`{}` needs {what}", kind.macro_name()),
                ));
            }
            if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
                let first = match kind {
                    Kind::Intermediate => "value",
                    Kind::Variable(_) => "prior",
                    _ => "shape",
                };
                return Err(input.error(format!(
                    "`{}` takes its {first} first, then `name = ...`",
                    kind.macro_name()
                )));
            }
            args.positional = Some(input.parse()?);
            if input.is_empty() {
                return Ok(args);
            }
            input.parse::<Token![,]>()?;
        }
    }
    let pairs = Punctuated::<KeyValue, Token![,]>::parse_terminated(input)?;
    let mut prior_args: Vec<Option<Expr>> = vec![None; kind.keys().len() - 1];
    for pair in pairs {
        let key = pair.key.to_string();
        let position = kind.keys().iter().position(|k| *k == key);
        match position {
            None => {
                let valid = kind
                    .keys()
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(syn::Error::new_spanned(
                    &pair.key,
                    format!(
                        "unknown key `{key}` for `{}`; valid keys: {valid}",
                        kind.macro_name()
                    ),
                ));
            }
            Some(_) if key == "name" => args.name = Some(syn::parse2(pair.value)?),
            Some(i) => prior_args[i] = Some(syn::parse2(pair.value)?),
        }
    }
    for (i, arg) in prior_args.into_iter().enumerate() {
        match arg {
            Some(e) => args.prior_args.push(e),
            None => {
                return Err(syn::Error::new(span, missing_key(kind, kind.keys()[i])));
            }
        }
    }
    Ok(args)
}

/// `sub!(component(args))`, `sub!(name = component(args))` or
/// `sub!(name[i] = component(args))`.
fn parse_sub(input: ParseStream) -> syn::Result<Args> {
    let named = input.peek(Ident)
        && (input.peek2(Token![=]) && !input.peek2(Token![==]) || input.peek2(syn::token::Bracket));
    let name = if named {
        let name: GivenName = input.parse()?;
        input.parse::<Token![=]>()?;
        Some(name)
    } else {
        None
    };
    let expr: Expr = input.parse()?;
    match &expr {
        Expr::Call(ExprCall { func, .. }) if matches!(**func, Expr::Path(_)) => {}
        Expr::Path(path) => {
            let name = path.to_token_stream().to_string().replace(' ', "");
            return Err(syn::Error::new_spanned(
                path,
                format!(
                    "`sub!` takes a call, not the function itself: `sub!({name}(...))` with its arguments"
                ),
            ));
        }
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "`sub!` takes a call of a `#[purify]` function, e.g. `sub!(field(n, &alpha))`",
            ));
        }
    }
    Ok(Args {
        positional: Some(expr),
        name,
        prior_args: Vec::new(),
    })
}

/// The error for a required key left out, with a complete example.
fn missing_key(kind: Kind, key: &str) -> String {
    let values: &[&str] = match kind {
        Kind::Variable(prior) => prior.example_values(),
        _ => &[],
    };
    let example = kind
        .keys()
        .into_iter()
        .filter(|k| *k != "name")
        .zip(values.iter().copied())
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "`{m}` needs `{key} = ...`, e.g. `{m}({example})`",
        m = kind.macro_name()
    )
}
