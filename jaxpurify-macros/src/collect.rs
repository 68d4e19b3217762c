//! Finding the markers in a function body and rewriting each into a call on
//! the model context. One `VisitMut` pass; it never enters nested items
//! (`fn`, `impl`, `mod` inside the body), whose markers stay unexpanded and
//! report that they are outside `#[purify]`.

use crate::attr::scope_ident;
use crate::marker::{self, Args, GivenName, Kind, MARKERS, Prior};
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprCall, Ident, Item, LitStr, Local, Macro, Pat, Stmt};

/// A marker found in the body.
pub struct Marker {
    pub kind: Kind,
    /// The field the marker declares.
    pub name: Ident,
    /// Declared as `name[i]`: the field is a `Vec`.
    pub indexed: bool,
    /// `sub!`: the called component's path.
    pub component: Option<syn::Path>,
    /// The name came from the enclosing `let`.
    pub from_let: bool,
    /// Where errors about the name point: the given name, the component,
    /// or, for a name taken from the `let`, the marker itself (one `let`
    /// may hold several markers).
    pub site: TokenStream,
}

/// Rewrites every marker in `body`, returning what was found and every error.
pub fn collect(body: &mut syn::Block) -> (Vec<Marker>, Vec<syn::Error>) {
    let mut pass = RewriteMarkers {
        markers: Vec::new(),
        errors: Vec::new(),
        let_name: None,
    };
    pass.visit_block_mut(body);
    (pass.markers, pass.errors)
}

struct RewriteMarkers {
    markers: Vec<Marker>,
    errors: Vec<syn::Error>,
    /// The binding of the innermost `let` whose initialiser is being visited.
    let_name: Option<Ident>,
}

fn binding_name(pat: &Pat) -> Option<Ident> {
    match pat {
        Pat::Ident(p) => Some(p.ident.clone()),
        Pat::Type(p) => binding_name(&p.pat),
        _ => None,
    }
}

impl VisitMut for RewriteMarkers {
    fn visit_item_mut(&mut self, _: &mut Item) {}

    fn visit_local_mut(&mut self, local: &mut Local) {
        let saved = std::mem::replace(&mut self.let_name, binding_name(&local.pat));
        if let Some(init) = &mut local.init {
            self.visit_expr_mut(&mut init.expr);
            if let Some((_, diverge)) = &mut init.diverge {
                self.visit_expr_mut(diverge);
            }
        }
        self.let_name = saved;
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Macro(m) = expr {
            if let Some(kind) = Kind::of(&m.mac) {
                if let Some(rewritten) = self.rewrite(kind, &m.mac) {
                    *expr = rewritten;
                }
            } else {
                self.reject_nested(&m.mac);
            }
            return;
        }
        visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        if let Stmt::Macro(m) = stmt {
            if let Some(kind) = Kind::of(&m.mac) {
                if let Some(expr) = self.rewrite(kind, &m.mac) {
                    *stmt = Stmt::Expr(expr, Some(m.semi_token.unwrap_or_default()));
                }
            } else {
                self.reject_nested(&m.mac);
            }
            return;
        }
        visit_mut::visit_stmt_mut(self, stmt);
    }
}

impl RewriteMarkers {
    /// Markers inside another macro's arguments cannot be rewritten (the
    /// arguments are not parsed Rust yet): ask for a `let` binding instead.
    fn reject_nested(&mut self, mac: &Macro) {
        let outer = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let mut found = Vec::new();
        find_marker_idents(mac.tokens.clone(), &mut found);
        for ident in found {
            self.errors.push(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}!` inside `{outer}!` cannot be rewritten by `#[purify]`: bind it with `let` first, \
                     e.g. `let x = {ident}!(...);`, and use `x`"
                ),
            ));
        }
    }

    /// The replacement for one marker, or `None` after an error (recorded):
    /// the fallback then stubs the whole body.
    fn rewrite(&mut self, kind: Kind, mac: &Macro) -> Option<Expr> {
        self.try_rewrite(kind, mac).map_err(|e| self.errors.push(e)).ok()
    }

    fn try_rewrite(&mut self, kind: Kind, mac: &Macro) -> syn::Result<Expr> {
        let mut args = marker::parse_args(kind, mac.tokens.clone(), mac.path.span())?;
        if let Some(e) = &mut args.positional {
            self.visit_expr_mut(e);
        }
        for e in &mut args.prior_args {
            self.visit_expr_mut(e);
        }
        let (name, from_let) = self.resolve_name(kind, mac, &args)?;
        let index = args.name.as_ref().and_then(|n| n.index.clone());
        if matches!(kind, Kind::Variable(_)) && index.is_some() {
            return Err(syn::Error::new_spanned(
                mac,
                "variables cannot be declared in a list; use `param!` in loops",
            ));
        }
        let component = match (&kind, &args.positional) {
            (Kind::Sub, Some(Expr::Call(ExprCall { func, .. }))) => match &**func {
                Expr::Path(p) => Some(p.path.clone()),
                _ => None,
            },
            _ => None,
        };
        let site = match from_let {
            true => mac.to_token_stream(),
            false => name.to_token_stream(),
        };
        let expr = expand_marker(kind, &name, index.as_ref(), args, mac.path.span());
        self.markers.push(Marker {
            kind,
            name,
            indexed: index.is_some(),
            component,
            from_let,
            site,
        });
        Ok(expr)
    }

    /// The field name: given, else (for `sub!`) the component's name, else
    /// the enclosing `let`.
    fn resolve_name(&self, kind: Kind, mac: &Macro, args: &Args) -> syn::Result<(Ident, bool)> {
        if let Some(GivenName { ident, .. }) = &args.name {
            return Ok((ident.clone(), false));
        }
        if kind == Kind::Sub {
            if let Some(Expr::Call(call)) = &args.positional {
                if let Expr::Path(p) = &*call.func {
                    let last = p.path.segments.last().expect("a path has a segment");
                    return Ok((last.ident.clone(), false));
                }
            }
        }
        if let Some(name) = &self.let_name {
            return Ok((name.clone(), true));
        }
        Err(syn::Error::new_spanned(
            mac,
            format!(
                "cannot infer a name for `{m}`: bind it with `let NAME = {m}(...)` or give one with `name = \"...\"`",
                m = kind.macro_name()
            ),
        ))
    }
}

fn find_marker_idents(tokens: TokenStream, found: &mut Vec<Ident>) {
    let mut iter = tokens.into_iter().peekable();
    while let Some(tt) = iter.next() {
        match tt {
            TokenTree::Ident(ident) if MARKERS.contains(&ident.to_string().as_str()) => {
                if matches!(iter.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '!') {
                    found.push(ident);
                }
            }
            TokenTree::Group(g) => find_marker_idents(g.stream(), found),
            _ => {}
        }
    }
}

/// A shape argument as a `Shape`: `()`/`[]` scalar, an integer, `[a, b]`/`(a, b)`,
/// or any expression with `Into<Shape>`.
fn shape_expr(shape: &Expr) -> TokenStream {
    let span = shape.span();
    let dims: Option<Vec<&Expr>> = match shape {
        Expr::Tuple(t) => Some(t.elems.iter().collect()),
        Expr::Array(a) => Some(a.elems.iter().collect()),
        Expr::Paren(p) => Some(vec![&*p.expr]),
        Expr::Lit(_) => Some(vec![shape]),
        _ => None,
    };
    match dims {
        Some(dims) => quote_spanned!(span=> ::jaxpurify::__private::shape_of_dims(&[#(#dims),*])),
        None => quote_spanned!(span=> ::jaxpurify::__private::Shape::from(#shape)),
    }
}

/// The context call that replaces one marker. Its tokens carry `span`, the
/// marker's name, so type errors about the call (`let n: usize = param!(2)`)
/// point there rather than at `#[purify]`.
fn expand_marker(kind: Kind, name: &Ident, index: Option<&Expr>, args: Args, span: Span) -> Expr {
    let mut s = scope_ident();
    s.set_span(s.span().located_at(span));
    let p = Ident::new("__p", Span::mixed_site());
    let f = Ident::new("__f", Span::mixed_site());
    let key = LitStr::new(&name.to_string(), name.span());
    // Variables have no positional argument; every other marker has one.
    let positional = args.positional;
    let tokens = match (kind, index) {
        (Kind::Param | Kind::Fixed, _) => {
            let shape = shape_expr(positional.as_ref().expect("parse_args requires a shape"));
            let (method, getter) = if kind == Kind::Param {
                ("param", &p)
            } else {
                ("fixed", &f)
            };
            match index {
                None => {
                    let m = Ident::new(method, Span::mixed_site());
                    quote_spanned!(span=> #s.#m(#key, #shape, |#getter| &#getter.#name))
                }
                Some(i) => {
                    let m = Ident::new(&format!("{method}_at"), Span::mixed_site());
                    quote_spanned!(span=> #s.#m(#key, #i, #shape, |#getter| &#getter.#name))
                }
            }
        }
        (Kind::Intermediate, None) => {
            let value = positional.expect("parse_args requires a value");
            quote_spanned!(span=> #s.intermediate(#key, ::core::option::Option::None, #value))
        }
        (Kind::Intermediate, Some(i)) => {
            let value = positional.expect("parse_args requires a value");
            quote_spanned!(span=> #s.intermediate(#key, ::core::option::Option::Some(#i), #value))
        }
        (Kind::Variable(Prior::Given), _) => {
            let prior = positional.expect("parse_args requires a prior");
            quote_spanned!(span=> #s.variable(#key, || ::jaxpurify::__private::IntoPrior::into_prior(#prior), |#p| &#p.#name))
        }
        (Kind::Variable(prior), _) => {
            let ty = Ident::new(prior.type_name(), Span::call_site());
            let prior_args = args.prior_args;
            quote_spanned!(span=> #s.variable(#key, || ::jaxpurify::__private::#ty::new(#(#prior_args),*), |#p| &#p.#name))
        }
        (Kind::Sub, _) => {
            let Some(Expr::Call(mut call)) = positional else {
                unreachable!("parse_sub accepts calls only")
            };
            let scope = match index {
                None => quote_spanned!(span=> &#s.sub(#key, |#p| &#p.#name, |#f| &#f.#name)),
                Some(i) => quote_spanned!(span=> &#s.sub_at(#key, #i, |#p| &#p.#name, |#f| &#f.#name)),
            };
            call.args
                .insert(0, syn::parse2(scope).expect("a scope expression"));
            return Expr::Call(call);
        }
    };
    syn::parse2(tokens).expect("generated marker code parses")
}
