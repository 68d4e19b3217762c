//! The priors computed through quantiles (Cauchy, half-Cauchy, half-normal,
//! half-Student-t, gamma, beta) against SciPy's quantiles, on samples, in
//! round trips and under differentiation.

use super::*;
use crate::grad;
use crate::testing::check_grad;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

type Map = Box<dyn Fn(&Tensor) -> Tensor>;

/// A prior's maps and its quantiles at [`PROBABILITIES`].
struct Case {
    name: &'static str,
    forward: Map,
    inverse: Map,
    quantiles: [f64; 5],
}

const PROBABILITIES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

fn case<P: crate::model::Prior + 'static>(
    name: &'static str,
    prior: P,
    inverse: fn(&P, &Tensor) -> Tensor,
    quantiles: [f64; 5],
) -> Case {
    let prior = std::sync::Arc::new(prior);
    let other = prior.clone();
    Case {
        name,
        forward: Box::new(move |xi| prior.forward(xi)),
        inverse: Box::new(move |v| inverse(&other, v)),
        quantiles,
    }
}

/// SciPy 1.17.1 at PROBABILITIES: stats.cauchy.ppf(p, 0.5, 2), halfcauchy.ppf(p, scale=5),
/// halfnorm.ppf(p, scale=1.5), 2 t.ppf((1 + p) / 2, 3), gamma.ppf(p, 2.5, scale=1/1.5),
/// beta.ppf(p, 2, 5).
fn cases() -> Vec<Case> {
    vec![
        case(
            "cauchy",
            Cauchy::new(0.5, 2.0).unwrap(),
            Cauchy::inverse,
            [
                -12.127_503_029_350_088,
                -1.500_000_000_000_000_4,
                0.5,
                2.500_000_000_000_000_4,
                13.127_503_029_350_075,
            ],
        ),
        case(
            "half_cauchy",
            HalfCauchy::new(5.0).unwrap(),
            HalfCauchy::inverse,
            [
                0.393_508_534_123_092_17,
                2.071_067_811_865_475,
                4.999_999_999_999_999,
                12.071_067_811_865_476,
                63.531_023_680_873_48,
            ],
        ),
        case(
            "half_normal",
            HalfNormal::new(1.5).unwrap(),
            HalfNormal::inverse,
            [
                0.094_060_166_914_820_78,
                0.477_959_045_946_562_7,
                1.011_734_625_294_122_6,
                1.725_524_070_564_011_8,
                2.939_945_976_810_081,
            ],
        ),
        case(
            "half_student_t",
            HalfStudentT::new(3.0, 2.0).unwrap(),
            HalfStudentT::inverse,
            [
                0.136_175_045_352_539_3,
                0.698_436_177_483_476_8,
                1.529_784_656_808_688_8,
                2.845_250_562_923_616_7,
                6.364_892_610_567_415_5,
            ],
        ),
        case(
            "gamma",
            Gamma::new(2.5, 1.5).unwrap(),
            Gamma::inverse,
            [
                0.381_825_408_687_256_4,
                0.891_534_269_810_721_1,
                1.450_486_730_365_175_4,
                2.208_559_921_276_415_3,
                3.690_165_897_838_783_7,
            ],
        ),
        case(
            "beta",
            Beta::new(2.0, 5.0).unwrap(),
            Beta::inverse,
            [
                0.062_849_891_708_354_38,
                0.161_162_916_790_326_52,
                0.264_449_983_295_660_05,
                0.389_479_485_200_724_5,
                0.581_803_409_252_025_9,
            ],
        ),
    ]
}

#[test]
fn the_normal_quantiles_map_to_the_distributions_quantiles() {
    let xi = Tensor::from(PROBABILITIES).ndtri();
    for c in cases() {
        let values = (c.forward)(&xi).to_vec();
        for (v, q) in values.iter().zip(c.quantiles) {
            assert!(
                (v - q).abs() <= 1e-12 * q.abs().max(1.0),
                "{}: {v} vs SciPy's {q}",
                c.name
            );
        }
    }
}

#[test]
fn a_seeded_normal_sample_has_the_distributions_quantiles_and_moments() {
    // 100k draws: the fraction below each quantile is within 5 sigma =
    // 5 sqrt(p (1 - p) / n) of p; means within 5 sd / sqrt(n).
    let n = 100_000;
    let xi = Tensor::randn([n], &mut Xoshiro256PlusPlus::seed_from_u64(2024));
    for c in cases() {
        let values = (c.forward)(&xi).to_vec();
        for (p, q) in PROBABILITIES.iter().zip(c.quantiles) {
            let below = values.iter().filter(|&&v| v <= q).count() as f64 / n as f64;
            let sigma = (p * (1.0 - p) / n as f64).sqrt();
            assert!(
                (below - p).abs() < 5.0 * sigma,
                "{}: {below} below the {p} quantile",
                c.name
            );
        }
    }
    // mean, variance: half-normal s sqrt(2/pi), s^2 (1 - 2/pi); gamma a/b, a/b^2;
    // beta a/(a+b), ab/((a+b)^2 (a+b+1))
    let pi = std::f64::consts::PI;
    let moments = [
        ("half_normal", 1.5 * (2.0 / pi).sqrt(), 2.25 * (1.0 - 2.0 / pi)),
        ("gamma", 2.5 / 1.5, 2.5 / 2.25),
        ("beta", 2.0 / 7.0, 10.0 / (49.0 * 8.0)),
    ];
    for (name, mean, variance) in moments {
        let c = cases().into_iter().find(|c| c.name == name).unwrap();
        let sample = (c.forward)(&xi).mean().item();
        assert!(
            (sample - mean).abs() < 5.0 * (variance / n as f64).sqrt(),
            "{name}: mean {sample} vs {mean}"
        );
    }
}

#[test]
fn inverse_and_forward_undo_each_other() {
    let xi = Tensor::linspace(-6.0, 6.0, 49);
    for c in cases() {
        let values = (c.forward)(&xi);
        let back = (c.inverse)(&values);
        assert!(
            (&back - &xi).abs().max().item() < 1e-9,
            "{}: inverse(forward(xi))",
            c.name
        );
        let again = (c.forward)(&back);
        let relative = ((&again - &values) / &values.abs().maximum(1e-300))
            .abs()
            .max()
            .item();
        assert!(
            relative < 1e-12,
            "{}: forward(inverse(x)) off by {relative:e}",
            c.name
        );
    }
}

#[test]
fn far_tails_stay_finite_and_ordered() {
    let xi = Tensor::from([-30.0, -10.0, 10.0, 30.0]);
    for c in cases() {
        let v = (c.forward)(&xi).to_vec();
        assert!(v.iter().all(|x| x.is_finite()), "{}: {v:?}", c.name);
        assert!(v.windows(2).all(|w| w[0] < w[1]), "{}: {v:?}", c.name);
    }
    // Half-Cauchy at xi = 30: scale cot(pi Phi(-30) / 2) ~ 2 scale / (pi Phi(-30)).
    let far = HalfCauchy::new(1.0)
        .unwrap()
        .forward(&Tensor::scalar(30.0))
        .item();
    let phi_minus_30 = 4.906_713_927_148_187e-198;
    assert!((far * std::f64::consts::PI * phi_minus_30 / 2.0 - 1.0).abs() < 1e-12);
}

#[test]
fn hand_derived_slopes_at_the_median() {
    // Cauchy: dz/dxi = pi phi(0) (1 + 0) = sqrt(pi / 2), times the scale 2.
    let g = grad(
        |x: &Tensor| Cauchy::new(0.5, 2.0).unwrap().forward(x).sum(),
        &Tensor::scalar(0.0),
    );
    assert!((g.item() - 2.0 * (std::f64::consts::PI / 2.0).sqrt()).abs() < 1e-14);
    // Half-normal: z0 = Phi^{-1}(3/4), dz/dxi = exp(z0^2 / 2) / 2.
    let z0 = 0.674_489_750_196_081_7f64;
    let g = grad(
        |x: &Tensor| HalfNormal::new(1.0).unwrap().forward(x).sum(),
        &Tensor::scalar(0.0),
    );
    assert!((g.item() - (z0 * z0 / 2.0).exp() / 2.0).abs() < 1e-14);
}

#[test]
fn forward_gradients_in_xi_and_parameters() {
    let xi = Tensor::from([-2.3, -0.6, 0.0, 0.4, 1.8]);
    let s = Tensor::scalar;
    check_grad(
        |v| Cauchy::new(&v[1], &v[2]).unwrap().forward(&v[0]),
        &[xi.clone(), s(0.5), s(2.0)],
    )
    .assert_ok_for("Cauchy");
    check_grad(
        |v| HalfCauchy::new(&v[1]).unwrap().forward(&v[0]),
        &[xi.clone(), s(5.0)],
    )
    .assert_ok_for("HalfCauchy");
    check_grad(
        |v| HalfNormal::new(&v[1]).unwrap().forward(&v[0]),
        &[xi.clone(), s(1.5)],
    )
    .assert_ok_for("HalfNormal");
    check_grad(
        |v| HalfStudentT::new(3.0, &v[1]).unwrap().forward(&v[0]),
        &[xi.clone(), s(2.0)],
    )
    .assert_ok_for("HalfStudentT");
    check_grad(
        |v| Gamma::new(2.5, &v[1]).unwrap().forward(&v[0]),
        &[xi.clone(), s(1.5)],
    )
    .assert_ok_for("Gamma");
    check_grad(
        |v| Beta::new(2.0, 5.0).unwrap().forward(&v[0]),
        std::slice::from_ref(&xi),
    )
    .assert_ok_for("Beta");
    for c in cases() {
        let values = (c.forward)(&xi);
        check_grad(|v| (c.inverse)(&v[0]), &[values]).assert_ok_for(c.name);
        let second = |v: &[Tensor]| grad(|x: &Tensor| (c.forward)(x).sum(), &v[0]);
        check_grad(second, std::slice::from_ref(&xi)).assert_ok_for(c.name);
    }
}

#[test]
fn maps_compile_with_their_gradients_on_both_sides_of_every_branch() {
    for c in cases() {
        super::tests::assert_maps_compile_across_zero(&c.forward, &c.inverse);
    }
}

#[test]
fn closures_and_constructor_results_are_priors() {
    let doubled = |xi: &Tensor| xi * 2.0;
    assert_eq!(
        crate::model::Prior::forward(&doubled, &Tensor::scalar(1.5)).item(),
        3.0
    );
    assert!(IntoPrior::into_prior(HalfCauchy::new(-1.0)).is_err());
    let prior = IntoPrior::into_prior(HalfCauchy::new(5.0)).unwrap();
    assert!(prior.forward(&Tensor::scalar(0.0)).item() > 4.9);
}

fn message<T: std::fmt::Debug>(result: Result<T>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn invalid_parameters_are_named_with_their_values() {
    assert_eq!(
        message(Cauchy::new(f64::NAN, 1.0)),
        "priors::Cauchy::new: `loc` must be finite, got NaN"
    );
    assert_eq!(
        message(HalfCauchy::new(-5.0)),
        "priors::HalfCauchy::new: `scale` must be positive and finite, got -5"
    );
    assert_eq!(
        message(HalfStudentT::new(0.0, 1.0)),
        "priors::HalfStudentT::new: `dof` must be positive and finite, got 0"
    );
    assert_eq!(
        message(Gamma::new(Tensor::ones([2]), Tensor::ones([3]))),
        "priors::Gamma::new: `shape` of shape [2] and `rate` of shape [3] do not broadcast"
    );
    assert_eq!(
        message(Beta::new(1.0, f64::INFINITY)),
        "priors::Beta::new: `beta` must be positive and finite, got inf"
    );
}
