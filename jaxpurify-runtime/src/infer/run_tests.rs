//! NUTS runs of purified models.

use super::*;
use crate::infer::{Gaussian, read_stan_csv};

/// A location with a normal prior, observed at `x` through a slope.
#[crate::purify]
fn line(n: usize) -> Tensor {
    let offset = normal_variable!(mean = 1.0, sigma = 2.0);
    let x = fixed!(n);
    let prediction = intermediate!(&x * 0.5 + &offset);
    prediction
}

fn posterior() -> Posterior<line::Model> {
    let fixed = line::Fixed {
        x: Tensor::from([0.0, 1.0, 2.0]),
    };
    // y = 0.5 x + 3 exactly, unit noise.
    let likelihood = Gaussian::new(Tensor::from([3.0, 3.5, 4.0]), 1.0).unwrap();
    Posterior::new(line::new(3), fixed, likelihood).unwrap()
}

fn settings() -> NutsSettings {
    NutsSettings {
        warmup: 200,
        draws: 300,
        progress: false,
        ..NutsSettings::default()
    }
}

#[test]
fn intermediates_are_recorded_at_every_draw_and_match_the_parameters() {
    let posterior = posterior();
    let run = posterior.nuts(2, &settings(), 9).unwrap();
    assert!(run.evaluation().to_string().starts_with("compiled"));
    let params = run.params().unwrap();
    let intermediates = run.intermediates().unwrap();
    assert_eq!(params.offset.shape().dims(), &[2, 300]);
    assert_eq!(intermediates.prediction.shape().dims(), &[2, 300, 3]);
    // offset = 1 + 2 xi at every draw, and the prediction follows it.
    for (xi, physical) in params
        .offset
        .as_slice()
        .iter()
        .zip(intermediates.offset.as_slice())
    {
        assert_eq!(*physical, 1.0 + 2.0 * xi);
    }
    let second = intermediates.prediction.as_slice()[3 * 7 + 2];
    assert_eq!(second, 2.0 * 0.5 + intermediates.offset.as_slice()[7]);
    // Prior N(1, 4) and three observations of offset with unit noise:
    // precision 1/4 + 3, mean (1/4 + 3 * 3) / 3.25 = 2.846.
    let summary = run.summary().unwrap();
    let offset = summary.get("offset").unwrap();
    assert!((offset.mean - 2.846).abs() < 4.0 * (1.0 / 3.25f64).sqrt() / offset.ess_bulk.sqrt());
}

#[test]
fn a_run_keeps_only_the_chosen_intermediates() {
    let posterior = posterior();
    let recording = Recording {
        intermediates: Keep::Only(vec!["offset".into()]),
        ..Recording::default()
    };
    let run = posterior.nuts_recording(1, &settings(), 9, &recording).unwrap();
    assert_eq!(run.width(), 2);
    assert!(run.intermediate("offset").is_ok());
    let err = run.intermediates().unwrap_err().to_string();
    assert!(err.contains("`prediction (not recorded"), "{err}");
    // The same seed gives the same parameters whatever is recorded.
    let everything = posterior.nuts(1, &settings(), 9).unwrap();
    assert_eq!(run.params().unwrap(), everything.params().unwrap());
}

#[test]
fn streamed_and_saved_files_read_back() {
    let dir = std::env::temp_dir().join(format!("jaxpurify-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let recording = Recording {
        stream_to: Some(dir.join("streamed.csv")),
        ..Recording::default()
    };
    let run = posterior().nuts_recording(2, &settings(), 4, &recording).unwrap();
    assert_eq!(run.files().len(), 2);
    let saved = run.save(dir.join("saved.csv")).unwrap();
    for (streamed, saved) in run.files().iter().zip(&saved) {
        let (a, b) = (read_stan_csv(streamed).unwrap(), read_stan_csv(saved).unwrap());
        assert_eq!(a.columns, b.columns);
        assert_eq!(a.draws.num_draws(), 300);
        for i in [0, 150, 299] {
            assert_eq!(a.draws.draw(i), b.draws.draw(i));
        }
    }
    assert!(run.files()[0].ends_with("streamed_1.csv"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_predictive_evaluates_every_draw_on_new_data() {
    let posterior = posterior();
    let run = posterior.nuts(2, &settings(), 1).unwrap();
    let offsets = run.intermediate("offset").unwrap();
    let new = line::Fixed {
        x: Tensor::from([10.0, 20.0, 30.0]),
    };
    let (output, intermediates) = posterior.predictive(&run, &new).unwrap();
    assert_eq!(output.shape().dims(), &[2, 300, 3]);
    assert_eq!(output.as_slice()[3 * 11 + 1], 10.0 + offsets.as_slice()[11]);
    assert_eq!(intermediates.offset, offsets);
    // Two points, through the model bound to n = 2.
    let two = line::Fixed {
        x: Tensor::from([10.0, 20.0]),
    };
    let (output, _) = posterior.predictive_with(&line::new(2), &run, &two).unwrap();
    assert_eq!(output.shape().dims(), &[2, 300, 2]);
    assert_eq!(output.as_slice()[2 * 11 + 1], 10.0 + offsets.as_slice()[11]);
    let err = posterior.predictive(&run, &two).unwrap_err();
    assert_eq!(err.to_string(), "`x`: expected shape [3], got [2]");
}
