//! Diagnostics against ArviZ on fixed arrays.
//!
//! The arrays are drawn here from Xoshiro256++ with fixed seeds
//! ([`reference_cases`]). `write_reference_cases` (run with
//! `cargo test -p jaxpurify-runtime write_reference_cases -- --ignored`)
//! writes them with shortest round-trip formatting to
//! `target/arviz_cases.txt`, and `scripts/arviz_reference.py`, run with
//! ArviZ 0.23.4 (NumPy 2.4.6, SciPy 1.17.1), reads that file and prints
//! the `REFERENCES` table below.

use super::*;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

/// One named array of chains.
struct Case {
    name: &'static str,
    chains: Chains,
}

fn normals(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n).map(|_| rng.sample(StandardNormal)).collect()
}

/// `chains` AR(1) chains `x_t = phi x_(t-1) + sqrt(1 - phi^2) e_t`, each
/// started at a standard normal draw, so stationary with variance 1.
fn autoregressive(seed: u64, chains: usize, draws: usize, phi: f64) -> Vec<f64> {
    let noise = normals(seed, chains * draws);
    let mut values = Vec::with_capacity(noise.len());
    for row in noise.chunks(draws) {
        let mut x = row[0];
        values.push(x);
        for e in &row[1..] {
            x = phi * x + (1.0 - phi * phi).sqrt() * e;
            values.push(x);
        }
    }
    values
}

fn case(name: &'static str, values: Vec<f64>, chains: usize) -> Case {
    Case {
        name,
        chains: Chains::from_flat(values, chains).unwrap(),
    }
}

/// The arrays ArviZ saw, in the order of [`REFERENCES`].
fn reference_cases() -> Vec<Case> {
    let shifted: Vec<f64> = normals(3, 4 * 200)
        .iter()
        .enumerate()
        .map(|(i, v)| v + (i / 200) as f64 * 0.8)
        .collect();
    let mut one_constant = normals(5, 3 * 50);
    one_constant[..50].fill(2.5);
    // Cauchy draws as ratios of normals.
    let pairs = normals(6, 2 * 4 * 300);
    let cauchy: Vec<f64> = pairs.chunks(2).map(|p| p[0] / p[1]).collect();
    // Few distinct values: ties share ranks.
    let ties: Vec<f64> = normals(8, 4 * 60).iter().map(|v| (v * 2.0).round()).collect();
    vec![
        case("iid_normal", normals(1, 4 * 500), 4),
        case("ar1_strong", autoregressive(2, 4, 1000, 0.95), 4),
        case("shifted_means", shifted, 4),
        case("short_odd", normals(4, 2 * 5), 2),
        case("short_even", normals(4, 3 * 4), 3),
        case("one_constant_chain", one_constant, 3),
        case("all_constant", vec![1.25; 2 * 20], 2),
        case("heavy_tails", cauchy, 4),
        case("single_chain", autoregressive(7, 1, 301, 0.5), 1),
        case("ties", ties, 4),
        case("too_short", normals(9, 2 * 3), 2),
    ]
}

#[test]
#[ignore = "writes the arrays for scripts/arviz_reference.py"]
fn write_reference_cases() {
    let mut text = String::new();
    for c in reference_cases() {
        let values: Vec<String> = c.chains.values().iter().map(|v| format!("{v:?}")).collect();
        text += &format!("{} {} {}\n", c.name, c.chains.num_chains(), values.join(" "));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/arviz_cases.txt");
    std::fs::write(path, text).unwrap();
}

// ArviZ 0.23.4, NumPy 2.4.6, SciPy 1.17.1
// name: mean, sd, q5, q95, mcse_mean, ess_bulk, ess_tail, r_hat
const REFERENCES: &[(&str, [f64; 8])] = &[
    (
        "iid_normal",
        [
            0.022485930763956555,
            0.9697447455507812,
            -1.5224766504646423,
            1.6494367662350773,
            0.02113462941002882,
            2102.099427311252,
            1971.6828504957004,
            1.0007826559011435,
        ],
    ),
    (
        "ar1_strong",
        [
            -0.11341439829657199,
            0.9849429473297598,
            -1.746498487468177,
            1.4892558917446066,
            0.09913437140397399,
            99.04896556817748,
            125.74315132541146,
            1.03675883414991,
        ],
    ),
    (
        "shifted_means",
        [
            1.2370498432932562,
            1.404518431242977,
            -1.157588728459733,
            3.5117102900599098,
            0.48313899442323704,
            8.693304342198747,
            105.35739513782225,
            1.4064343439360716,
        ],
    ),
    (
        "short_odd",
        [
            -0.009156825807218615,
            0.9647614054556659,
            -1.5359954745980426,
            0.8776854176013675,
            0.3589297153229919,
            7.224719895935548,
            7.224719895935548,
            1.011820605791894,
        ],
    ),
    (
        "short_even",
        [
            -0.030340534302943045,
            0.9506050149807987,
            -1.4450188146265874,
            0.8603095104862499,
            0.2641570970657392,
            12.9501749525715,
            12.9501749525715,
            0.9656056737058593,
        ],
    ),
    (
        "one_constant_chain",
        [
            0.8233470345759532,
            1.4799621007048622,
            -1.5424883694382796,
            2.5,
            0.6564578791772246,
            5.823072139421365,
            137.52705972239903,
            1.584958527393368,
        ],
    ),
    ("all_constant", [1.25, 0.0, 1.25, 1.25, 0.0, 40.0, 40.0, f64::NAN]),
    (
        "heavy_tails",
        [
            -1.7647321519380572,
            65.55325170838758,
            -6.039873809347085,
            7.514345053602496,
            1.883112947593104,
            1142.6935765108112,
            996.603951551083,
            1.0003813960143417,
        ],
    ),
    (
        "single_chain",
        [
            -0.11449145723421153,
            0.9944394257070538,
            -1.81059642720384,
            1.4371782691892763,
            0.09870350809790343,
            100.60894760239994,
            150.11009881918616,
            f64::NAN,
        ],
    ),
    (
        "ties",
        [
            -0.10416666666666667,
            1.9017673274935336,
            -3.0,
            3.0,
            0.11434556177294826,
            275.9929280004172,
            241.06818387031004,
            0.9982120476427959,
        ],
    ),
    (
        "too_short",
        [
            -0.3916205435354205,
            0.9524838835239581,
            -1.700823508049163,
            0.6290150582370235,
            f64::NAN,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ],
    ),
];

/// Equal to 1e-10 relative, or both NaN.
fn assert_matches(actual: f64, expected: f64, what: &str) {
    let same = if expected.is_nan() {
        actual.is_nan()
    } else {
        (actual - expected).abs() <= 1e-10 * expected.abs().max(1e-300)
    };
    assert!(same, "{what}: {actual} vs ArviZ's {expected}");
}

#[test]
fn every_statistic_matches_arviz() {
    let cases = reference_cases();
    assert_eq!(cases.len(), REFERENCES.len());
    for (c, (name, expected)) in cases.iter().zip(REFERENCES) {
        assert_eq!(c.name, *name);
        let d = c.chains.diagnose();
        let actual = [
            d.mean,
            d.sd,
            d.q5,
            d.q95,
            d.mcse_mean,
            d.ess_bulk,
            d.ess_tail,
            d.r_hat,
        ];
        let columns = [
            "mean",
            "sd",
            "q5",
            "q95",
            "mcse_mean",
            "ess_bulk",
            "ess_tail",
            "r_hat",
        ];
        for ((a, e), column) in actual.iter().zip(expected).zip(columns) {
            assert_matches(*a, *e, &format!("{name}: {column}"));
        }
    }
}

#[test]
fn hand_computed_rhat_of_two_short_chains() {
    // Chains [0, 1, 2, 3] and [4, 5, 6, 7] split into [0, 1], [2, 3], [4, 5],
    // [6, 7]. Their ranks 1..8 become z_r = ndtri((r - 3/8) / 8.25), which
    // are symmetric about 0: the split chains' means are
    // m = (z1+z2)/2, (z3+z4)/2, and their negatives, so the variance of the
    // means is (2 m1^2 + 2 m2^2) / 3, each chain's variance (z_a - z_b)^2 / 2,
    // and R-hat^2 = (2 (means variance) / W + 1) / 2 with n = 2.
    let chains = Chains::new(&[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]).unwrap();
    let z: Vec<f64> = (1..=8).map(|r| ndtri((r as f64 - 0.375) / 8.25)).collect();
    let means = [(z[0] + z[1]) / 2.0, (z[2] + z[3]) / 2.0];
    let between = 2.0 * (2.0 * means[0].powi(2) + 2.0 * means[1].powi(2)) / 3.0;
    let within = ((z[0] - z[1]).powi(2) + (z[2] - z[3]).powi(2)) / 2.0 / 2.0;
    let bulk = ((between / within + 1.0) / 2.0).sqrt();
    // Folded about the median 3.5 the chains are [3.5, 2.5], [1.5, 0.5],
    // [0.5, 1.5], [2.5, 3.5]: tied pairs, a smaller R-hat than the bulk.
    assert!(
        (chains.rhat() - bulk).abs() < 1e-14,
        "{} vs {bulk}",
        chains.rhat()
    );
}

#[test]
fn chains_of_unequal_length_are_an_error_naming_the_chain() {
    let error = Chains::new(&[vec![1.0; 5], vec![1.0; 5], vec![1.0; 4]]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "`chain 2 (draws per chain, as chain 0)`: expected length 5, got 4"
    );
    assert!(Chains::new::<Vec<f64>>(&[]).is_err());
    assert!(Chains::from_flat(vec![1.0; 7], 2).is_err());
}

#[test]
fn nan_draws_give_nan_diagnostics() {
    let mut values = normals(10, 2 * 10);
    values[3] = f64::NAN;
    let d = Chains::from_flat(values, 2).unwrap().diagnose();
    assert!(d.r_hat.is_nan() && d.ess_bulk.is_nan() && d.ess_tail.is_nan());
}
