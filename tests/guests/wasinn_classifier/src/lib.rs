//! The image-recognition flow as a YoMo stream function on WASI-NN: it observes 0x10 (a
//! JPEG or PNG image), runs the TensorFlow-Lite model through `wasi_ephemeral_nn`, and
//! answers on 0x11 with the example's sentence (on 0x12 with the reason if it fails).
//!
//! The model is loaded once per instance from `INFER_MODEL` in a preopened directory, or,
//! when `INFER_GRAPH` names one, from the host's preloaded models (`load_by_name`, only in
//! the `current` build).

use std::cell::RefCell;

#[cfg(feature = "legacy")]
use nn_legacy as wasi_nn;
#[cfg(all(feature = "current", not(feature = "legacy")))]
use nn as wasi_nn;

use wasi_nn::{ExecutionTarget, GraphBuilder, GraphEncoding, GraphExecutionContext, TensorType};

#[path = "../../../../examples/image_recognition/guest/src/host.rs"]
#[allow(dead_code)]
mod host;
#[path = "../../../../examples/image_recognition/guest/src/zip.rs"]
mod zip;
#[path = "../../shared/classify.rs"]
mod classify;

const IMAGE: u32 = 0x10;
const LABEL: u32 = 0x11;
const FAILED: u32 = 0x12;

// wasi-nn 0.4's context borrows its graph; the graph lives as long as the instance.
#[cfg(feature = "legacy")]
type Context = GraphExecutionContext<'static>;
#[cfg(all(feature = "current", not(feature = "legacy")))]
type Context = GraphExecutionContext;

struct Classifier {
    context: Context,
    labels: Vec<String>,
    size: u32,
    outputs: usize,
}

thread_local! {
    static CLASSIFIER: RefCell<Option<Classifier>> = RefCell::new(None);
}

fn builder() -> GraphBuilder {
    GraphBuilder::new(GraphEncoding::TensorflowLite, ExecutionTarget::CPU)
}

#[cfg(all(feature = "current", not(feature = "legacy")))]
fn graph(model: &[u8]) -> Result<wasi_nn::Graph, String> {
    match std::env::var("INFER_GRAPH") {
        Ok(name) => builder().build_from_cache(&name).map_err(|e| e.to_string()),
        Err(_) => builder().build_from_bytes([model]).map_err(|e| e.to_string()),
    }
}

#[cfg(feature = "legacy")]
fn graph(model: &[u8]) -> Result<wasi_nn::Graph, String> {
    builder().build_from_bytes([model]).map_err(|e| e.to_string())
}

fn load() -> Result<Classifier, String> {
    let model = classify::model_bytes()?;
    let labels = classify::labels_of(&model)?;
    let graph: &'static wasi_nn::Graph = Box::leak(Box::new(graph(&model)?));
    let context = graph.init_execution_context().map_err(|e| e.to_string())?;
    let outputs = labels.len();
    Ok(Classifier { context, labels, size: classify::input_size(), outputs })
}

fn classify_image(image: &[u8]) -> Result<String, String> {
    CLASSIFIER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(load()?);
        }
        let classifier = slot.as_mut().unwrap();
        let pixels = classify::pixels(image, classifier.size)?;
        let side = classifier.size as usize;
        classifier
            .context
            .set_input(0, TensorType::U8, &[1, side, side, 3], &pixels)
            .map_err(|e| e.to_string())?;
        classifier.context.compute().map_err(|e| e.to_string())?;
        let mut scores = vec![0u8; classifier.outputs];
        let written = classifier.context.get_output(0, &mut scores).map_err(|e| e.to_string())?;
        scores.truncate(written);
        Ok(classify::sentence(&classifier.labels, &scores))
    })
}

#[yomo::observe_datatags]
fn observe_datatags() -> Vec<u32> {
    vec![IMAGE]
}

#[yomo::handler]
fn handler(ctx: yomo::Context) -> Result<(), String> {
    let image = ctx.load_input();
    match classify_image(&image) {
        Ok(sentence) => ctx.dump_output(LABEL, sentence.into_bytes()),
        Err(reason) => ctx.dump_output(FAILED, reason.into_bytes()),
    }
    Ok(())
}
