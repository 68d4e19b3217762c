//! Parsing the attribute and the function it is placed on.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, Item, ItemFn, Pat, Type};

/// One argument of the purified function.
pub struct Arg {
    pub name: Ident,
    pub ty: Type,
}

/// The function as far as expansion needs it.
pub struct Function {
    pub item: ItemFn,
    /// The arguments, or `None` when the signature cannot be bound by the
    /// generated module (generic, `self`, patterns, ...; errors say why).
    pub args: Option<Vec<Arg>>,
}

/// Checks the attribute's own arguments: none are accepted.
pub fn check_args(args: &TokenStream, errors: &mut Vec<syn::Error>) {
    if !args.is_empty() {
        errors.push(syn::Error::new_spanned(args, "`#[purify]` takes no arguments"));
    }
}

/// Parses the function. Only input that is not a function is fatal; every
/// problem with its signature is pushed to `errors`, so that the body's
/// markers are still checked and all errors are reported together.
pub fn parse(input: TokenStream, errors: &mut Vec<syn::Error>) -> syn::Result<Function> {
    // Misplaced on another item: point at the attribute, not at the item.
    let item: ItemFn = syn::parse2(input.clone()).map_err(|e| match syn::parse2::<Item>(input) {
        Ok(_) => syn::Error::new(
            Span::call_site(),
            "`#[purify]` goes on a function: `#[purify] fn model() -> Tensor { ... }`",
        ),
        Err(_) => e,
    })?;
    let errors_before = errors.len();
    let sig = &item.sig;
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "`#[purify]` functions cannot be generic: take concrete types (e.g. `&[usize]`, `&Tensor`)",
        ));
    }
    if let Some(t) = &sig.asyncness {
        errors.push(syn::Error::new_spanned(
            t,
            "`#[purify]` functions cannot be `async`",
        ));
    }
    let mut parsed = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => errors.push(syn::Error::new_spanned(
                r,
                "`#[purify]` goes on a free function, not a method: the model's module is \
                 generated beside the function, which an `impl` or a trait cannot hold; move it \
                 out and pass what it needs from `self` as arguments",
            )),
            FnArg::Typed(pt) => match &*pt.pat {
                Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => parsed.push(Arg {
                    name: pi.ident.clone(),
                    ty: (*pt.ty).clone(),
                }),
                other => errors.push(syn::Error::new_spanned(
                    other,
                    "`#[purify]` function arguments must be plain names (`n: usize`), not patterns: \
                     name the argument and destructure it in the body",
                )),
            },
        }
    }
    for arg in &parsed {
        if contains_impl_trait(&arg.ty) {
            errors.push(syn::Error::new(
                arg.ty.span(),
                "`#[purify]` function arguments cannot use `impl Trait`",
            ));
        }
    }
    let args = (errors.len() == errors_before).then_some(parsed);
    Ok(Function { item, args })
}

fn contains_impl_trait(ty: &Type) -> bool {
    quote::quote!(#ty).to_string().contains("impl ")
}

/// All errors as one, each keeping its own span.
pub fn combine(errors: impl IntoIterator<Item = syn::Error>) -> Option<syn::Error> {
    errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    })
}

/// The hygienic name of the context parameter: user code cannot see or
/// shadow it, and it never clashes with the user's names.
pub fn scope_ident() -> Ident {
    Ident::new("__jp", Span::mixed_site())
}
