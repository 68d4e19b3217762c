//! `#[derive(Tree)]`, also used for the structs `#[purify]` generates.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Ident, LitStr};

/// The derive's entry point.
pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let fields: Vec<Ident> = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => named.named.iter().filter_map(|f| f.ident.clone()).collect(),
            Fields::Unit => Vec::new(),
            Fields::Unnamed(u) => {
                return syn::Error::new_spanned(u, "`Tree` can be derived for structs with named fields")
                    .to_compile_error();
            }
        },
        _ => {
            return syn::Error::new_spanned(&input.ident, "`Tree` can be derived for structs only")
                .to_compile_error();
        }
    };
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let name = &input.ident;
    let body = tree_impls(&fields);
    let paths = path_names(&fields);
    quote! {
        impl #impl_generics ::jaxpurify::__private::Tree for #name #ty_generics #where_clause { #body }
        impl #impl_generics ::jaxpurify::__private::TreeBuild for #name #ty_generics #where_clause {
            fn build(
                path: &mut ::jaxpurify::__private::Path,
                source: &mut dyn ::jaxpurify::__private::LeafSource,
            ) -> ::jaxpurify::__private::Result<Self> {
                let _ = (&path, &source);
                ::core::result::Result::Ok(Self {
                    #(#fields: path.with(
                        ::jaxpurify::__private::PathSegment::Field(#paths),
                        |p| ::jaxpurify::__private::TreeBuild::build(p, source),
                    )?,)*
                })
            }
        }
    }
}

/// Each field's name in leaf paths: `r#type` is the path `type`.
fn path_names(fields: &[Ident]) -> Vec<LitStr> {
    fields
        .iter()
        .map(|f| LitStr::new(&f.unraw().to_string(), f.span()))
        .collect()
}

/// The methods of `Tree` for a struct with these fields, in order.
fn tree_impls(fields: &[Ident]) -> TokenStream {
    let paths = path_names(fields);
    quote! {
        fn visit<'__jp_a>(
            &'__jp_a self,
            path: &mut ::jaxpurify::__private::Path,
            f: &mut dyn ::core::ops::FnMut(&::jaxpurify::__private::Path, &'__jp_a ::jaxpurify::__private::Tensor),
        ) {
            #(path.with(
                ::jaxpurify::__private::PathSegment::Field(#paths),
                |p| ::jaxpurify::__private::Tree::visit(&self.#fields, p, f),
            );)*
            let _ = (path, f);
        }

        fn try_rebuild(
            &self,
            path: &mut ::jaxpurify::__private::Path,
            f: &mut dyn ::core::ops::FnMut(
                &::jaxpurify::__private::Path,
                &::jaxpurify::__private::Tensor,
            ) -> ::jaxpurify::__private::Result<::jaxpurify::__private::Tensor>,
        ) -> ::jaxpurify::__private::Result<Self> {
            let _ = (&path, &f);
            ::core::result::Result::Ok(Self {
                #(#fields: path.with(
                    ::jaxpurify::__private::PathSegment::Field(#paths),
                    |p| ::jaxpurify::__private::Tree::try_rebuild(&self.#fields, p, f),
                )?,)*
            })
        }
    }
}
