//! What `#[purify]` emits when it finds errors: the errors, plus the user's
//! function (markers replaced by `unimplemented!()`) and an empty module, so
//! the rest of the crate and the IDE keep working.

use crate::marker::Kind;
use proc_macro2::TokenStream;
use quote::quote;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Item, ItemFn, Stmt};

/// Replaces every marker with `unimplemented!()`, leaving the rest.
struct StubMarkers;

fn is_marker(mac: &syn::Macro) -> bool {
    mac.path
        .segments
        .last()
        .is_some_and(|s| Kind::from_macro_name(&s.ident.to_string()).is_some())
}

impl VisitMut for StubMarkers {
    fn visit_item_mut(&mut self, _: &mut Item) {}

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Macro(m) = expr {
            if is_marker(&m.mac) {
                *expr = syn::parse_quote!(::core::unimplemented!());
                return;
            }
        }
        visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        if let Stmt::Macro(m) = stmt {
            if is_marker(&m.mac) {
                *stmt = syn::parse_quote!(::core::unimplemented!(););
                return;
            }
        }
        visit_mut::visit_stmt_mut(self, stmt);
    }
}

/// The errors beside a stub of the function and its module.
pub fn emit(input: TokenStream, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let Ok(mut item) = syn::parse2::<ItemFn>(input.clone()) else {
        return quote!(#errors #input);
    };
    StubMarkers.visit_block_mut(&mut item.block);
    let (name, vis) = (&item.sig.ident, &item.vis);
    quote! {
        #errors
        #[allow(unreachable_code, unused_variables, clippy::diverging_sub_expression)]
        #item
        #[allow(missing_docs)]
        #vis mod #name {
            #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::default::Default)]
            pub struct Params {}
            #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::default::Default)]
            pub struct Fixed {}
            #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::default::Default)]
            pub struct Intermediates {}
        }
    }
}
