//! Writing the purified function and the module beside it.

use crate::attr::{self, Arg, scope_ident};
use crate::collect::{self, Marker};
use crate::fallback;
use crate::marker::Kind;
use crate::valid;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{FnArg, Ident, ItemFn, Lifetime, ReturnType, Type};

/// `#[purify]`: parse, collect, validate, expand; on any error, the fallback.
pub fn purify(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    attr::check_args(&args, &mut errors);
    let function = match attr::parse(input.clone(), &mut errors) {
        Ok(f) => f,
        Err(e) => {
            let e = e.to_compile_error();
            return quote!(#e #input);
        }
    };
    let mut item = function.item.clone();
    let (markers, found) = collect::collect(&mut item.block);
    errors.extend(found);
    errors.extend(valid::check(&markers));
    match (attr::combine(errors), &function.args) {
        (None, Some(args)) => expand(item, args, &markers),
        (Some(e), _) => fallback::emit(&function, e),
        (None, None) => unreachable!("a signature that does not bind has errors"),
    }
}

/// The function, taking the model context, and its module.
pub fn expand(item: ItemFn, args: &[Arg], markers: &[Marker]) -> TokenStream {
    let module = module(&item, args, markers);
    let item = with_scope(item);
    quote!(#item #module)
}

/// The function with the model context as its first argument. A method
/// (already an error) is left alone: the context cannot precede `self`.
pub fn with_scope(mut item: ItemFn) -> ItemFn {
    if matches!(item.sig.inputs.first(), Some(FnArg::Receiver(_))) {
        return item;
    }
    let s = scope_ident();
    let name = &item.sig.ident;
    let scope: FnArg = syn::parse_quote!(#s: &::jaxpurify::__private::Scope<'_, #name::Params, #name::Fixed>);
    item.sig.inputs.insert(0, scope);
    item.attrs
        .push(syn::parse_quote!(#[allow(clippy::too_many_arguments)]));
    item
}

/// The lifetime that the bound model's reference arguments carry.
fn arg_lifetime() -> Lifetime {
    Lifetime::new("'__jp_a", Span::call_site())
}

/// Rewrites a user type for use inside the generated module: elided
/// lifetimes become `'__jp_a` (when `with_lifetime`), and the names the module
/// defines itself point back to the user's items.
struct ModuleType {
    with_lifetime: bool,
}

const GENERATED_TYPES: &[&str] = &["Params", "Fixed", "Intermediates", "Model", "Output"];

impl VisitMut for ModuleType {
    fn visit_type_reference_mut(&mut self, r: &mut syn::TypeReference) {
        if self.with_lifetime && r.lifetime.is_none() {
            r.lifetime = Some(arg_lifetime());
        }
        visit_mut::visit_type_reference_mut(self, r);
    }

    fn visit_lifetime_mut(&mut self, l: &mut Lifetime) {
        if self.with_lifetime && l.ident == "_" {
            *l = arg_lifetime();
        }
    }

    fn visit_type_path_mut(&mut self, tp: &mut syn::TypePath) {
        if tp.qself.is_none() && tp.path.leading_colon.is_none() {
            let first = tp.path.segments[0].ident.to_string();
            if GENERATED_TYPES.contains(&first.as_str()) {
                tp.path
                    .segments
                    .insert(0, syn::PathSegment::from(Ident::new("super", Span::call_site())));
            }
        }
        visit_mut::visit_type_path_mut(self, tp);
    }
}

fn module_type(ty: &Type, with_lifetime: bool) -> Type {
    let mut ty = ty.clone();
    ModuleType { with_lifetime }.visit_type_mut(&mut ty);
    ty
}

/// A component's path as seen from inside the generated module.
fn component_path(path: &syn::Path) -> TokenStream {
    let first = path.segments.first().map(|s| s.ident.to_string());
    match first.as_deref() {
        Some("self") if path.leading_colon.is_none() => {
            let rest = path.segments.iter().skip(1);
            quote!(super #(:: #rest)*)
        }
        Some("super") if path.leading_colon.is_none() => quote!(super::#path),
        _ => quote!(#path),
    }
}

/// One field of a generated struct.
struct Field {
    name: Ident,
    ty: TokenStream,
    doc: String,
}

/// The fields of `Params`, `Fixed` and `Intermediates`, in declaration order.
fn fields(markers: &[Marker], which: &str) -> Vec<Field> {
    let tensor = quote!(::jaxpurify::__private::Tensor);
    let mut out: Vec<Field> = Vec::new();
    for m in markers {
        if out.iter().any(|f| f.name == m.name) {
            continue;
        }
        let (ty, doc) = match (m.kind, which) {
            (Kind::Param, "Params") => (tensor.clone(), "A parameter, declared by `param!`."),
            (Kind::Fixed, "Fixed") => (tensor.clone(), "Fixed data, declared by `fixed!`."),
            (Kind::Intermediate, "Intermediates") => (
                tensor.clone(),
                "An intermediate value, declared by `intermediate!`.",
            ),
            (Kind::Variable(_), "Params") => (
                tensor.clone(),
                "The whitened (standard normal) value of a variable.",
            ),
            (Kind::Variable(_), "Intermediates") => (tensor.clone(), "The physical value of a variable."),
            (Kind::Sub, _) => {
                let path = component_path(m.component.as_ref().expect("sub! markers name their component"));
                let which = format_ident!("{which}");
                (quote!(#path::#which), "A component, called through `sub!`.")
            }
            _ => continue,
        };
        let ty = if m.indexed {
            quote!(::std::vec::Vec<#ty>)
        } else {
            ty
        };
        out.push(Field {
            name: m.name.clone(),
            ty,
            doc: doc.to_string(),
        });
    }
    out
}

fn generated_struct(name: &str, doc: &str, fields: &[Field], default: bool) -> TokenStream {
    let ident = format_ident!("{name}");
    let default = default.then(|| quote!(#[derive(::core::default::Default)]));
    let (names, tys, docs) = (
        fields.iter().map(|f| &f.name),
        fields.iter().map(|f| &f.ty),
        fields.iter().map(|f| &f.doc),
    );
    // One derive set for every struct; clippy's nursery would ask for `Eq`
    // on the ones without tensors (a component without fixed data).
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq, ::jaxpurify::Tree)]
        #[allow(clippy::derive_partial_eq_without_eq)]
        #default
        pub struct #ident { #(#[doc = #docs] pub #names: #tys,)* }
    }
}

/// `Params`, `Fixed` and `Intermediates`, one field per marker.
pub fn structs(markers: &[Marker]) -> TokenStream {
    let params = generated_struct(
        "Params",
        "The learned parameters.",
        &fields(markers, "Params"),
        false,
    );
    let fixed = generated_struct(
        "Fixed",
        "The data given at call time.",
        &fields(markers, "Fixed"),
        true,
    );
    let inter = generated_struct(
        "Intermediates",
        "Values recorded during evaluation.",
        &fields(markers, "Intermediates"),
        false,
    );
    quote!(#params #fixed #inter)
}

/// Whether a type borrows: holds a reference or names a lifetime.
fn borrows(ty: &Type) -> bool {
    struct FindsLifetime(bool);
    impl VisitMut for FindsLifetime {
        fn visit_type_reference_mut(&mut self, _: &mut syn::TypeReference) {
            self.0 = true;
        }
        fn visit_lifetime_mut(&mut self, _: &mut Lifetime) {
            self.0 = true;
        }
    }
    let mut finder = FindsLifetime(false);
    finder.visit_type_mut(&mut ty.clone());
    finder.0
}

/// The module `NAME` beside the function: the structs, the bound model and
/// the free functions.
fn module(item: &ItemFn, args: &[Arg], markers: &[Marker]) -> TokenStream {
    let (name, vis) = (&item.sig.ident, &item.vis);
    let structs = structs(markers);
    let returned = match &item.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => {
            let ty = module_type(ty, false);
            quote!(#ty)
        }
    };
    let arg_names: Vec<&Ident> = args.iter().map(|a| &a.name).collect();
    let bound_types: Vec<Type> = args.iter().map(|a| module_type(&a.ty, true)).collect();
    let plain_types: Vec<Type> = args.iter().map(|a| module_type(&a.ty, false)).collect();
    // Each evaluation passes the bound arguments by value; a missing `Clone`
    // is reported at the argument's type.
    let cloned_args = args.iter().map(|arg| {
        let name = &arg.name;
        quote_spanned!(arg.ty.span()=> ::core::clone::Clone::clone(&self.#name))
    });
    // A model that borrows nothing has no lifetime to spell.
    let lifetime = args.iter().any(|a| borrows(&a.ty)).then(arg_lifetime);
    let a_list = lifetime.as_ref().map(|a| quote!(<#a>));
    let phantom = lifetime.as_ref().map(|a| {
        quote! {
            #[doc(hidden)]
            pub __jp_lifetime: ::core::marker::PhantomData<&#a ()>,
        }
    });
    let phantom_init = lifetime
        .as_ref()
        .map(|_| quote!(__jp_lifetime: ::core::marker::PhantomData,));
    let model_any = match &lifetime {
        Some(_) => quote!(Model<'_>),
        None => quote!(Model),
    };
    let api = api_functions(&arg_names, &plain_types, &model_any);
    let module_doc = format!(
        "The model of [`{name}`](fn@{name}), generated by `#[purify]`: its parameter, fixed-data and \
         intermediate structs and its API. [`Model`] binds the arguments and implements \
         [`jaxpurify::Model`](::jaxpurify::Model)."
    );
    quote! {
        #[doc = #module_doc]
        #vis mod #name {
            #![allow(unused_imports)]
            use super::*;

            #structs

            #[doc = "What the model computes: the function's return value, without its `Result`."]
            pub type Output = <#returned as ::jaxpurify::__private::ModelOutput>::Output;

            #[doc = "The function bound to its arguments; implements `jaxpurify::Model`."]
            pub struct Model #a_list {
                #(#[doc = "An argument of the function."] pub #arg_names: #bound_types,)*
                #phantom
                #[doc(hidden)]
                pub __jp_layout: ::jaxpurify::__private::LayoutCache<Params>,
            }

            #[doc = "Binds the function's arguments into a [`Model`]."]
            pub fn new #a_list (#(#arg_names: #bound_types),*) -> Model #a_list {
                Model {
                    #(#arg_names,)*
                    #phantom_init
                    __jp_layout: ::core::default::Default::default(),
                }
            }

            impl #a_list ::jaxpurify::__private::Model for Model #a_list {
                type Params = Params;
                type Fixed = Fixed;
                type Intermediates = Intermediates;
                type Output = Output;

                fn layout_cache(&self) -> ::core::option::Option<&::jaxpurify::__private::LayoutCache<Params>> {
                    ::core::option::Option::Some(&self.__jp_layout)
                }

                #[allow(clippy::clone_on_copy)]
                fn call(
                    &self,
                    scope: &::jaxpurify::__private::Scope<'_, Params, Fixed>,
                ) -> ::jaxpurify::__private::Result<Output> {
                    ::jaxpurify::__private::ModelOutput::into_result(super::#name(scope, #(#cloned_args),*))
                }
            }

            #api
        }
    }
}

/// The free functions of the module, shorthands for the `Model` methods.
fn api_functions(names: &[&Ident], types: &[Type], model: &TokenStream) -> TokenStream {
    let hyg = |s: &str| Ident::new(s, Span::mixed_site());
    let (params, fixed, rng, loss) = (hyg("params"), hyg("fixed"), hyg("rng"), hyg("loss"));
    let output = quote!(Output);
    let m = quote!(<#model as ::jaxpurify::__private::Model>);
    // Trailing commas: `loss` follows the arguments in `value_and_grad` and `grad`.
    let args = quote!(#(#names: #types,)*);
    let bind = quote!(&new(#(#names),*));
    let res = quote!(::jaxpurify::__private::Result);
    let tensor = quote!(::jaxpurify::__private::Tensor);
    let shapes = quote!(::jaxpurify::__private::Shapes);
    quote! {
        #[doc = "Declared parameter shapes, by path in declaration order."]
        pub fn shapes(#args) -> #res<#shapes> { #m::shapes(#bind) }

        #[doc = "Declared fixed-data shapes, by path in declaration order."]
        pub fn fixed_shapes(#args) -> #res<#shapes> { #m::fixed_shapes(#bind) }

        #[doc = "Parameters filled with zeros."]
        pub fn zeros(#args) -> #res<Params> { #m::zeros(#bind) }

        #[doc = "Parameters drawn from a standard normal, reproducibly per parameter path."]
        pub fn normal<__JpRng: ::jaxpurify::__private::rand::Rng + ?::core::marker::Sized>(
            #rng: &mut __JpRng, #args
        ) -> #res<Params> {
            #m::normal(#bind, #rng)
        }

        #[doc = "The output for given parameters and fixed data, checked at the boundary."]
        pub fn apply(#params: &Params, #fixed: &Fixed, #args) -> #res<#output> {
            #m::apply(#bind, #params, #fixed)
        }

        #[doc = "The intermediates for given parameters and fixed data."]
        pub fn intermediates(#params: &Params, #fixed: &Fixed, #args) -> #res<Intermediates> {
            #m::intermediates(#bind, #params, #fixed)
        }

        #[doc = "Output and intermediates from one evaluation."]
        pub fn apply_and_intermediates(#params: &Params, #fixed: &Fixed, #args) -> #res<(#output, Intermediates)> {
            #m::apply_and_intermediates(#bind, #params, #fixed)
        }

        #[doc = "A scalar loss of the output and its gradient with respect to the parameters."]
        pub fn value_and_grad(
            #params: &Params, #fixed: &Fixed, #args
            #loss: impl ::core::ops::FnOnce(&#output) -> #tensor,
        ) -> #res<(#tensor, Params)> {
            #m::value_and_grad(#bind, #params, #fixed, #loss)
        }

        #[doc = "The gradient of a scalar loss of the output with respect to the parameters."]
        pub fn grad(
            #params: &Params, #fixed: &Fixed, #args
            #loss: impl ::core::ops::FnOnce(&#output) -> #tensor,
        ) -> #res<Params> {
            #m::grad(#bind, #params, #fixed, #loss)
        }
    }
}
