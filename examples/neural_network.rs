//! A dense neural network, built from one purified `linear` component used
//! in a loop, learns to separate two interleaved spirals.
//!
//! The network's loss and gradient are compiled once (`compile_value_and_grad`)
//! and checked against the model evaluated op by op; it is then trained
//! with Adam on its flat parameter vector, prints the loss as it goes,
//! checks that it classifies the training set, and draws its decision
//! boundary to a PNG file (by default `target/neural_network.png` in the
//! project, or the path given as the first argument).
//!
//! Run with `cargo run --release --example neural_network [-- out.png]`.

use jaxpurify::optim::Adam;
use jaxpurify::prelude::*;
use plotters::prelude::*;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::error::Error;
use std::time::Instant;

/// A dense layer `x w^T + b` on a batch of rows.
///
/// The weights are whitened like every parameter here: a priori standard
/// normal, scaled by `sqrt(2 / n_in)` inside the layer (He scaling, which
/// keeps the size of relu activations from layer to layer), so that
/// `normal` is a good starting point.
#[purify]
fn linear(n_in: usize, n_out: usize, x: &Tensor) -> Tensor {
    let w = param!([n_out, n_in]);
    let b = param!(n_out);
    // x w^T for a batch of rows, reading w in place (no transposed copy).
    x.inner(&w) * (2.0 / n_in as f64).sqrt() + b
}

/// The logits of a dense network with layer sizes `dims` and relu between
/// layers, for `n_points` inputs given as rows of the fixed `x`.
#[purify]
fn dense_network(dims: &[usize], n_points: usize) -> Tensor {
    let mut h = fixed!([n_points, dims[0]], name = "x");
    for i in 0..dims.len() - 1 {
        if i > 0 {
            h = h.relu();
        }
        h = sub!(layers[i] = linear(dims[i], dims[i + 1], &h));
    }
    h
}

/// The mean cross-entropy of softmax(logits) against one-hot labels.
fn cross_entropy(logits: &Tensor, one_hot: &Tensor) -> Tensor {
    -(logits.log_softmax(-1) * one_hot).sum() / logits.shape()[0] as f64
}

const DIMS: [usize; 4] = [2, 48, 48, 2];
const POINTS_PER_CLASS: usize = 200;
const STEPS: usize = 2000;
const REPORT_EVERY: usize = 200;
/// The plot and the data span [-EXTENT, EXTENT] on both axes.
const EXTENT: f64 = 1.25;

/// Two interleaved spirals of 1.5 turns, one per class, with a little noise:
/// the points as rows `[x1, x2]` and their labels, the first half 0.
fn two_spirals(points_per_class: usize, rng: &mut Xoshiro256PlusPlus) -> (Tensor, Vec<usize>) {
    let n = 2 * points_per_class;
    let labels: Vec<usize> = (0..n).map(|k| k / points_per_class).collect();
    let half_turns =
        Tensor::from_vec(labels.iter().map(|&l| l as f64).collect(), [n]).expect("one per point");
    let along = Tensor::rand_uniform([n], 0.0, 1.0, rng);
    let radius = &along * 0.95 + 0.05;
    let angle = (along * 3.0 + half_turns) * std::f64::consts::PI;
    let points = jaxpurify::stack(&[&radius * angle.cos(), radius * angle.sin()], 1);
    (points + Tensor::randn([n, 2], rng) * 0.03, labels)
}

fn one_hot(labels: &[usize], classes: usize) -> Tensor {
    let mut data = vec![0.0; labels.len() * classes];
    for (row, &label) in labels.iter().enumerate() {
        data[row * classes + label] = 1.0;
    }
    Tensor::from_vec(data, [labels.len(), classes]).expect("one row per label")
}

fn accuracy(logits: &Tensor, labels: &[usize]) -> f64 {
    let predicted = logits.argmax_axis(-1, false);
    let correct = predicted
        .as_slice()
        .iter()
        .zip(labels)
        .filter(|&(&p, &l)| p as usize == l)
        .count();
    correct as f64 / labels.len() as f64
}

fn main() -> Result<(), Box<dyn Error>> {
    let output = match std::env::args().nth(1) {
        Some(path) => std::path::PathBuf::from(path),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/neural_network.png"),
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let (points, labels) = two_spirals(POINTS_PER_CLASS, &mut rng);
    let n_points = labels.len();
    let targets = one_hot(&labels, 2);
    let fixed = dense_network::Fixed {
        x: points.clone(),
        ..Default::default()
    };

    let model = dense_network::new(&DIMS, n_points);
    println!("parameters:\n{}", model.shapes()?);
    let flat = model.flat()?;
    let initial = dense_network::normal(&mut rng, &DIMS, n_points)?;
    let mut theta = initial.ravel();
    println!(
        "{} values in one flat vector; training on {n_points} points",
        flat.len()
    );

    let loss_of = |logits: &Tensor| cross_entropy(logits, &targets);
    let start = Instant::now();
    let compiled = flat.model().compile_value_and_grad(&initial, &fixed, loss_of)?;
    println!(
        "compiled in {:.1} ms: {} kernel calls per step\n",
        start.elapsed().as_secs_f64() * 1e3,
        compiled.num_steps()
    );
    check_compiled_against_direct(&compiled, &flat, &theta, &fixed, loss_of)?;

    let mut adam = Adam::new(0.01);
    let mut gradient = vec![0.0; flat.len()];
    let start = Instant::now();
    let mut loss = f64::INFINITY;
    for step in 0..=STEPS {
        loss = compiled.value_and_grad_flat(&theta, &mut gradient)?;
        if step % REPORT_EVERY == 0 {
            println!("step {step:>5}  loss {loss:.5}");
        }
        if step < STEPS {
            adam.step(&mut theta, &gradient);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{STEPS} steps in {seconds:.2} s ({:.2} ms per step)",
        seconds * 1e3 / STEPS as f64
    );

    let params = flat.unravel(&theta)?;
    let logits = dense_network::apply(&params, &fixed, &DIMS, n_points)?;
    let training_accuracy = accuracy(&logits, &labels);
    println!("training accuracy: {:.1}%", 100.0 * training_accuracy);
    assert!(loss < 0.1, "the loss should fall below 0.1, got {loss}");
    assert!(
        training_accuracy > 0.95,
        "training accuracy {training_accuracy} is not above 95%"
    );

    let probabilities = class_one_probability_on_grid(&params, 240)?;
    plot_decision_boundary(&output, &probabilities, &points, &labels)?;
    println!("decision boundary written to {}", output.display());
    Ok(())
}

/// The compiled loss and gradient against the model evaluated op by op, at
/// the initial parameters: equal to the last bit.
fn check_compiled_against_direct(
    compiled: &jaxpurify::CompiledGradient<dense_network::Params>,
    flat: &jaxpurify::Flat<dense_network::Model<'_>>,
    theta: &[f64],
    fixed: &dense_network::Fixed,
    loss_of: impl Fn(&Tensor) -> Tensor,
) -> Result<()> {
    let (mut compiled_gradient, mut direct_gradient) = (vec![0.0; theta.len()], vec![0.0; theta.len()]);
    let compiled_loss = compiled.value_and_grad_flat(theta, &mut compiled_gradient)?;
    let direct_loss = flat.value_and_grad(theta, fixed, loss_of, &mut direct_gradient)?;
    assert_eq!(
        compiled_loss.to_bits(),
        direct_loss.to_bits(),
        "compiled and direct losses differ"
    );
    assert!(
        compiled_gradient
            .iter()
            .zip(&direct_gradient)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "compiled and direct gradients differ"
    );
    println!("the compiled loss and gradient equal the direct ones to the last bit");
    Ok(())
}

/// The network's probability of class 1 on a `resolution` x `resolution`
/// grid of cell centres over the plotted square, row by row from the bottom.
fn class_one_probability_on_grid(params: &dense_network::Params, resolution: usize) -> Result<Grid> {
    let cell = 2.0 * EXTENT / resolution as f64;
    let centres = Tensor::linspace(-EXTENT + cell / 2.0, EXTENT - cell / 2.0, resolution);
    let x1 = centres
        .reshape([1, resolution])
        .broadcast_to([resolution, resolution]);
    let x2 = centres
        .reshape([resolution, 1])
        .broadcast_to([resolution, resolution]);
    let grid = jaxpurify::stack(&[x1.flatten(), x2.flatten()], 1);
    let n_cells = resolution * resolution;
    let fixed = dense_network::Fixed {
        x: grid,
        ..Default::default()
    };
    let logits = dense_network::apply(params, &fixed, &DIMS, n_cells)?;
    let class_one = logits.softmax(-1).select(-1, 1);
    Ok(Grid {
        resolution,
        cell,
        values: class_one.into_vec(),
    })
}

/// Values on a square grid of cells over `[-EXTENT, EXTENT]^2`.
struct Grid {
    resolution: usize,
    cell: f64,
    values: Vec<f64>,
}

/// The shipped font, so that plots need no system fonts.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The probability field as a colour blend, whose turn is the decision
/// boundary, with the training points on top.
fn plot_decision_boundary(
    path: &std::path::Path,
    probabilities: &Grid,
    points: &Tensor,
    labels: &[usize],
) -> Result<(), Box<dyn Error>> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "the shipped font is not a valid font file")?;
    let class_colours = [RGBColor(31, 119, 180), RGBColor(214, 39, 40)];
    if let Some(directory) = path.parent() {
        std::fs::create_dir_all(directory)?;
    }
    let root = BitMapBackend::new(path, (720, 720)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Two spirals: decision boundary of a 2-48-48-2 network",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-EXTENT..EXTENT, -EXTENT..EXTENT)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x1")
        .y_desc("x2")
        .label_style(("sans-serif", 15))
        .draw()?;

    let (n, cell) = (probabilities.resolution, probabilities.cell);
    chart.draw_series(probabilities.values.iter().enumerate().map(|(k, &p)| {
        let (row, column) = (k / n, k % n);
        let (x, y) = (-EXTENT + column as f64 * cell, -EXTENT + row as f64 * cell);
        Rectangle::new(
            [(x, y), (x + cell, y + cell)],
            pale_blend(&class_colours, p).filled(),
        )
    }))?;
    for (class, colour) in class_colours.iter().enumerate() {
        let members = labels.iter().enumerate().filter(|&(_, &l)| l == class);
        chart
            .draw_series(members.map(|(row, _)| {
                let (x, y) = (points.get(&[row, 0]), points.get(&[row, 1]));
                Circle::new((x, y), 3, colour.filled())
            }))?
            .label(format!("class {class}"))
            .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// A light version of the two class colours, mixed by the probability `p`
/// of the second class.
fn pale_blend(colours: &[RGBColor; 2], p: f64) -> RGBColor {
    let channel = |a: u8, b: u8| {
        let mixed = (1.0 - p) * a as f64 + p * b as f64;
        (255.0 - 0.35 * (255.0 - mixed)).round() as u8
    };
    let [a, b] = colours;
    RGBColor(channel(a.0, b.0), channel(a.1, b.1), channel(a.2, b.2))
}
