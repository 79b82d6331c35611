//! Image classification as a wasm-bindgen function: `infer(image bytes) -> String`.
//!
//! The image is decoded and resized by the host (`wasmedge_image`), classified by a
//! TensorFlow-Lite model on the host (`wasmedge_tensorflowlite`), and the best label is
//! returned as a sentence, the way the YoMo/WasmEdge image-recognition example phrases it.
//!
//! Settings come from WASI environment variables (defaults fit EfficientNet-Lite0):
//! - `INFER_MODEL`: path of the `.tflite` file in a preopened directory
//!   (default `/model/efficientnet_lite0.tflite`); unused when the model is embedded.
//! - `INFER_LABELS`: path of a labels file, one label a line; by default the labels are read
//!   from the text file stored inside the model.
//! - `INFER_INPUT` / `INFER_OUTPUT`: tensor names (default `images` / `Softmax`).
//! - `INFER_SIZE`: the model's square input size in pixels (default 224).
//! - `INFER_KIND`: what the model recognises, for the "nothing found" sentence
//!   (default `known object`; `food item` for the food model).

use std::cell::RefCell;
use std::env;
use std::fs;

use wasm_bindgen::prelude::*;

mod host;
mod zip;

use host::{ImageFormat, Session};

/// Scores above these thresholds (out of 255) get a firmer wording.
const VERY_LIKELY: u8 = 200;
const LIKELY: u8 = 125;
/// At or below this score nothing is reported.
const NOTHING: u8 = 50;

struct Classifier {
    model: Vec<u8>,
    labels: Vec<String>,
    input: String,
    output: String,
    size: u32,
    kind: String,
}

fn setting(name: &str, default: &str) -> String {
    env::var(name).unwrap_or_else(|_| default.to_string())
}

#[cfg(feature = "embed-model")]
fn model_bytes() -> Vec<u8> {
    include_bytes!(env!("INFER_EMBED_MODEL")).to_vec()
}

#[cfg(not(feature = "embed-model"))]
fn model_bytes() -> Vec<u8> {
    let path = setting("INFER_MODEL", "/model/efficientnet_lite0.tflite");
    match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) => panic!("cannot read the model {}: {}", path, err),
    }
}

fn labels_of(model: &[u8]) -> Vec<String> {
    let text = match env::var("INFER_LABELS") {
        Ok(path) => match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) => panic!("cannot read the labels {}: {}", path, err),
        },
        Err(_) => match zip::stored_member(model, |name| name.ends_with(".txt")) {
            Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            None => panic!("the model has no labels inside; set INFER_LABELS"),
        },
    };
    text.lines().map(|line| line.trim().to_string()).collect()
}

impl Classifier {
    fn load() -> Classifier {
        let model = model_bytes();
        let labels = labels_of(&model);
        let size = setting("INFER_SIZE", "224").parse().expect("INFER_SIZE is not a number");
        Classifier {
            model,
            labels,
            input: setting("INFER_INPUT", "images"),
            output: setting("INFER_OUTPUT", "Softmax"),
            size,
            kind: setting("INFER_KIND", "known object"),
        }
    }

    fn classify(&self, image: &[u8]) -> String {
        let format = ImageFormat::sniff(image).expect("the input is neither a JPEG nor a PNG image");
        let pixels = host::load_rgb8(image, format, self.size, self.size)
            .expect("the host could not decode the image");
        // A new session per call, as the original function does; the host keeps the
        // interpreter warm between sessions of the same model.
        let mut session = Session::new(&self.model).expect("the host rejected the model");
        session.set_input(&self.input, &pixels);
        if !session.run() {
            panic!("the model failed to run");
        }
        let scores = session.output(&self.output).expect("the model has no such output tensor");
        let (best, score) = scores
            .iter()
            .enumerate()
            .fold((0, 0u8), |(bi, bs), (i, &s)| if s > bs { (i, s) } else { (bi, bs) });
        self.sentence(best, score)
    }

    fn sentence(&self, index: usize, score: u8) -> String {
        if score <= NOTHING {
            return format!("It does not appear to be a {} in the picture.", self.kind);
        }
        let confidence = if score > VERY_LIKELY {
            "is very likely"
        } else if score > LIKELY {
            "is likely"
        } else {
            "could be"
        };
        let label = self.labels.get(index).map(String::as_str).unwrap_or("unlabelled object");
        format!(
            "It {} a <a href='https://www.google.com/search?q={}'>{}</a> in the picture",
            confidence, label, label
        )
    }
}

thread_local! {
    // Loaded on the first call and kept for the instance's lifetime.
    static CLASSIFIER: RefCell<Option<Classifier>> = RefCell::new(None);
}

/// Classifies a JPEG or PNG image and describes the most likely label.
#[wasm_bindgen]
pub fn infer(image_data: &[u8]) -> String {
    CLASSIFIER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Classifier::load());
        }
        slot.as_ref().map(|c| c.classify(image_data)).unwrap_or_default()
    })
}
