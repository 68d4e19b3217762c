//! What `#[purify]` emits when it finds errors: the errors, plus the user's
//! function with every marker replaced by a stub and the module beside it
//! (without fields), so that the rest of the crate and the IDE keep working
//! and the stubs cause no errors of their own.

use crate::attr::Function;
use crate::collect;
use crate::expand;
use crate::marker::{self, Kind};
use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Item, Macro, Stmt};

/// The errors beside the stubbed function and its module. When the
/// signature binds, the module has its whole API, so calls of it elsewhere
/// still resolve; otherwise only its structs.
pub fn emit(function: &Function, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let mut item = function.item.clone();
    StubMarkers.visit_block_mut(&mut item.block);
    item.attrs.push(syn::parse_quote!(
        #[allow(dead_code, unreachable_code, unused_variables, clippy::diverging_sub_expression)]
    ));
    let method = matches!(item.sig.inputs.first(), Some(syn::FnArg::Receiver(_)));
    let rest = match &function.args {
        Some(args) => expand::expand(item, args, &[]),
        // In an `impl` or a trait: a module there would be an error of its own.
        None if method => quote!(#item),
        None => {
            let (name, vis) = (item.sig.ident.clone(), item.vis.clone());
            let item = expand::with_scope(item);
            let structs = expand::structs(&[]);
            let call = expand::component_call(&vis, &item.sig.ident);
            quote! {
                #item
                #[allow(missing_docs)]
                #vis mod #name { #structs #call }
            }
        }
    };
    quote!(#errors #rest)
}

/// Replaces every marker, also inside other macros' arguments and nested
/// items (where collection reported it), with a stub.
struct StubMarkers;

impl VisitMut for StubMarkers {
    fn visit_item_mut(&mut self, item: &mut Item) {
        if !collect::is_purified(item) {
            visit_mut::visit_item_mut(self, item);
        }
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Macro(m) = expr {
            if let Some(kind) = Kind::of(&m.mac) {
                *expr = stub(kind, &m.mac);
                return;
            }
        }
        visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        if let Stmt::Macro(m) = stmt {
            if let Some(kind) = Kind::of(&m.mac) {
                let semi = m.semi_token.unwrap_or_default();
                *stmt = Stmt::Expr(stub(kind, &m.mac), Some(semi));
                return;
            }
        }
        visit_mut::visit_stmt_mut(self, stmt);
    }

    /// Reached for macros other than markers only.
    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        mac.tokens = stub_in_tokens(std::mem::take(&mut mac.tokens));
    }
}

/// A stand-in with the marker's type, so that no error follows from it (a
/// bare `unimplemented!()` has type `!`, and `let x = ...; x.sin()` would
/// then need a type annotation). It never runs: the crate does not compile.
/// `sub!` keeps its call with a stub scope, so the component's output type
/// and the checks on its arguments remain; `intermediate!` keeps its value;
/// every other marker is a `Tensor`.
fn stub(kind: Kind, mac: &Macro) -> Expr {
    let span = mac.path.span();
    let todo = quote_spanned!(span=> ::core::unimplemented!());
    let positional = marker::parse_args(kind, mac.tokens.clone(), span)
        .ok()
        .and_then(|args| args.positional);
    let mut expr = match (kind, positional) {
        (Kind::Sub, Some(Expr::Call(mut call))) => {
            call.args
                .insert(0, syn::parse2(todo).expect("a macro call parses"));
            if let Expr::Path(func) = &mut *call.func {
                func.path.segments.push(syn::parse_quote!(__jp_body));
            }
            Expr::Call(call)
        }
        (Kind::Intermediate, Some(value)) => tensor(span, value.into_token_stream()),
        _ => tensor(span, todo),
    };
    StubMarkers.visit_expr_mut(&mut expr);
    expr
}

/// `value` as an expression of type `Tensor`.
fn tensor(span: Span, value: TokenStream) -> Expr {
    syn::parse_quote_spanned!(span=> ::core::convert::identity::<::jaxpurify::__private::Tensor>(#value))
}

/// Stubs `marker!(...)` in a macro's unparsed arguments, token by token.
fn stub_in_tokens(tokens: TokenStream) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some((kind, mac)) = marker_at(&tokens[i..]) {
            let stub = stub(kind, &mac).into_token_stream();
            out.extend([TokenTree::Group(Group::new(
                proc_macro2::Delimiter::Parenthesis,
                stub,
            ))]);
            i += 3;
            continue;
        }
        match &tokens[i] {
            TokenTree::Group(g) => {
                let mut inner = Group::new(g.delimiter(), stub_in_tokens(g.stream()));
                inner.set_span(g.span());
                out.extend([TokenTree::Group(inner)]);
            }
            other => out.extend([other.clone()]),
        }
        i += 1;
    }
    out
}

/// A marker invocation `name ! (...)` at the start of `tokens`.
fn marker_at(tokens: &[TokenTree]) -> Option<(Kind, Macro)> {
    let [
        TokenTree::Ident(name),
        TokenTree::Punct(bang),
        TokenTree::Group(args),
        ..,
    ] = tokens
    else {
        return None;
    };
    let kind = Kind::from_macro_name(&name.to_string())?;
    if bang.as_char() != '!' {
        return None;
    }
    let mac = syn::parse2::<Macro>(quote!(#name #bang #args)).ok()?;
    Some((kind, mac))
}
