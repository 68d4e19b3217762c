use super::*;
use crate::infer::Draws;

fn layout() -> Layout {
    Layout::new([
        ("mu", vec![]),
        ("theta", vec![3]),
        ("a", vec![2, 3]),
        ("field.xi", vec![2]),
        ("b", vec![2, 1, 2]),
    ])
    .unwrap()
}

/// Element `e` of draw `d` of chain `c`: exact in binary, distinct.
fn value(c: usize, d: usize, e: usize) -> f64 {
    1000.0 * c as f64 + d as f64 + 0.25 * e as f64
}

fn stats(d: usize) -> SamplerStats {
    SamplerStats {
        lp: -3.5 - d as f64,
        accept_stat: 0.8125,
        step_size: 0.1,
        tree_depth: 3,
        n_leapfrog: 7 + d as u32,
        divergent: d % 2 == 1,
        energy: 4.0 + 0.5 * d as f64,
    }
}

/// Chains of the layout above with values from [`value`].
fn draws(chains: usize, draws: usize) -> Draws {
    let layout = Arc::new(layout());
    let chains = (0..chains)
        .map(|c| {
            let mut chain = ChainDraws::new(layout.clone());
            for d in 0..draws {
                let draw: Vec<f64> = (0..layout.width()).map(|e| value(c, d, e)).collect();
                chain.push_with_stats(&draw, stats(d)).unwrap();
            }
            chain
        })
        .collect();
    Draws::new(chains).unwrap()
}

fn written(layout: &Layout, rows: &[(&[f64], SamplerStats)]) -> String {
    let mut writer = StanCsvWriter::new(Vec::new(), layout, &StanCsvConfig::default()).unwrap();
    for (values, stats) in rows {
        writer.write_draw(values, stats).unwrap();
    }
    String::from_utf8(writer.finish().unwrap()).unwrap()
}

#[test]
fn columns_are_named_and_ordered_as_stan_names_them() {
    let text = written(&layout(), &[]);
    let header = text.lines().find(|l| !l.starts_with('#')).unwrap();
    let expected = "lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,\
        mu,theta.1,theta.2,theta.3,\
        a.1.1,a.2.1,a.1.2,a.2.2,a.1.3,a.2.3,\
        field__xi.1,field__xi.2,\
        b.1.1.1,b.2.1.1,b.1.1.2,b.2.1.2";
    assert_eq!(header, expected);
}

#[test]
fn rows_hold_stats_then_elements_in_column_major_order() {
    // a = [[1, 2, 3], [4, 5, 6]] row-major, so Stan's order reads 1 4 2 5 3 6.
    let layout = Layout::new([("a", vec![2, 3])]).unwrap();
    let stats = SamplerStats {
        lp: -1.25,
        accept_stat: 0.5,
        step_size: 0.25,
        tree_depth: 2,
        n_leapfrog: 3,
        divergent: true,
        energy: 2.0,
    };
    let text = written(&layout, &[(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], stats)]);
    assert_eq!(
        text.lines().last().unwrap(),
        "-1.25,0.5,0.25,2,3,1,2.0,1.0,4.0,2.0,5.0,3.0,6.0"
    );
}

#[test]
fn the_comments_state_the_run_in_cmdstan_words() {
    let config = StanCsvConfig {
        model: "eight_schools".into(),
        chain_id: 3,
        num_samples: 1000,
        num_warmup: 500,
        seed: Some(42),
    };
    let mut writer = StanCsvWriter::new(Vec::new(), &layout(), &config).unwrap();
    writer.write_adaptation(0.375, &[1.0, 0.5]).unwrap();
    let text = String::from_utf8(writer.finish().unwrap()).unwrap();
    for line in [
        "# model = eight_schools",
        "#   num_samples = 1000",
        "#   num_warmup = 500",
        "#   save_warmup = 0",
        "# id = 3",
        "# seed = 42",
        "# Step size = 0.375",
        "# 1.0, 0.5",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
}

#[test]
fn a_written_file_reads_back_bit_for_bit() {
    let layout = Layout::new([("x", vec![4]), ("y", vec![2, 2])]).unwrap();
    let awkward = [
        0.1,
        -0.0,
        1e-300,
        5e-324,
        f64::MAX,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    let mut unknown = SamplerStats::unknown();
    unknown.n_leapfrog = u32::MAX;
    let text = written(&layout, &[(&awkward, stats(1)), (&[1.0 / 3.0; 8], unknown)]);
    let read = parse_stan_csv(text.as_bytes()).unwrap();
    assert_eq!(**read.draws.layout(), layout);
    assert_eq!(read.draws.num_draws(), 2);
    let bits = |v: &[f64]| {
        v.iter()
            .map(|x| if x.is_nan() { 0 } else { x.to_bits() })
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(read.draws.draw(0)), bits(&awkward));
    assert!(read.draws.draw(0)[7].is_nan());
    assert_eq!(read.draws.draw(1), &[1.0 / 3.0; 8]);
    assert_eq!(read.draws.stats()[0], stats(1));
    let back = read.draws.stats()[1];
    assert!(back.lp.is_nan() && back.energy.is_nan());
    assert_eq!(back.n_leapfrog, u32::MAX);
    assert!(read.comments.contains(&"model = model".to_string()));
}

#[test]
fn chains_written_to_files_read_back_as_the_same_draws() {
    let dir = std::env::temp_dir().join(format!("jaxpurify-stan-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let original = draws(3, 5);
    let paths = write_chains(&original, &dir, "run", &StanCsvConfig::default()).unwrap();
    assert_eq!(paths.len(), 3);
    assert!(paths[2].ends_with("run_3.csv"));
    let chains: Vec<ChainDraws> = paths.iter().map(|p| read_stan_csv(p).unwrap().draws).collect();
    assert_eq!(Draws::new(chains).unwrap(), original);
    let third = read_stan_csv(&paths[2]).unwrap();
    assert!(third.comments.contains(&"id = 3".to_string()));
    assert!(third.comments.contains(&"num_samples = 5".to_string()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn names_that_a_reader_would_misread_are_refused() {
    for bad in ["lp__", "a__b", "field.x__y"] {
        let layout = Layout::new([(bad, vec![])]).unwrap();
        let error = StanCsvWriter::new(Vec::new(), &layout, &StanCsvConfig::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains(&format!("leaf `{bad}` cannot be a Stan CSV column")),
            "{error}"
        );
    }
    let mut writer = StanCsvWriter::new(Vec::new(), &layout(), &StanCsvConfig::default()).unwrap();
    assert!(writer.write_comment("two\nlines").is_err());
    assert_eq!(
        writer.write_draw(&[1.0], &stats(0)).unwrap_err().to_string(),
        "`draw (values of every leaf of the layout)`: expected length 16, got 1"
    );
}

#[test]
fn malformed_files_are_format_errors_naming_the_line() {
    let header = SAMPLER_COLUMNS.join(",");
    let cases = [
        ("mu,lp__\n".to_string(), "line 1: the header must start with lp__"),
        (
            format!("{header},a.1.1,a.1.2,a.2.1,a.2.2\n"),
            "line 1: variable columns are not in Stan's column-major order",
        ),
        (
            format!("{header},a.1.1,a.2.1,a.2.2\n"),
            "not in Stan's column-major order",
        ),
        (
            format!("{header},t.0\n"),
            "line 1: column `t.0` has an index that is not a number from 1",
        ),
        (
            format!("# c\n{header},mu\n1,1,1,1,1,0,1\n"),
            "line 3: 7 values for 8 columns",
        ),
        (
            format!("{header},mu\n1,1,1,1,1,0,1,x\n"),
            "line 2: `x` in column mu is not a number",
        ),
        ("# only comments\n".to_string(), "no header line"),
    ];
    for (text, message) in cases {
        let error = parse_stan_csv(text.as_bytes()).unwrap_err().to_string();
        assert!(
            error.starts_with("invalid Stan CSV: ") && error.contains(message),
            "{error}"
        );
    }
    let missing = read_stan_csv("/nonexistent/run_1.csv").unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing}");
}

#[test]
#[ignore = "writes the files scripts/check_arviz.py reads"]
fn write_files_for_arviz() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/stan_csv_check");
    std::fs::create_dir_all(dir).unwrap();
    write_chains(&draws(4, 25), dir, "check", &StanCsvConfig::default()).unwrap();
}
