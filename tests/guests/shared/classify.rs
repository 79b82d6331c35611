//! What the test classifiers share: settings from WASI environment variables, the model
//! and its labels read from a preopened directory, and the sentence the image-recognition
//! example answers with. The image is decoded and resized by the host (`wasmedge_image`,
//! through the example guest's `host` module), so the pixels, and so the labels, are the
//! same as the example guest's.

use std::env;
use std::fs;

use crate::host::{self, ImageFormat};
use crate::zip;

/// Scores above these thresholds (out of 255) get a firmer wording; at or below
/// `NOTHING` nothing is reported.
const VERY_LIKELY: u8 = 200;
const LIKELY: u8 = 125;
const NOTHING: u8 = 50;

pub fn setting(name: &str, default: &str) -> String {
    env::var(name).unwrap_or_else(|_| default.to_string())
}

/// The model (`INFER_MODEL`, default EfficientNet-Lite0 in `/model`).
pub fn model_bytes() -> Result<Vec<u8>, String> {
    let path = setting("INFER_MODEL", "/model/efficientnet_lite0.tflite");
    fs::read(&path).map_err(|err| format!("cannot read the model {}: {}", path, err))
}

/// The labels stored inside the model, one a line.
pub fn labels_of(model: &[u8]) -> Result<Vec<String>, String> {
    let bytes = zip::stored_member(model, |name| name.ends_with(".txt"))
        .ok_or_else(|| "the model has no labels inside".to_string())?;
    Ok(String::from_utf8_lossy(bytes).lines().map(|l| l.trim().to_string()).collect())
}

/// The square input size (`INFER_SIZE`, default 224).
pub fn input_size() -> u32 {
    setting("INFER_SIZE", "224").parse().unwrap_or(224)
}

/// RGB pixels, 8 bits a channel, `size`×`size`, of a JPEG or PNG image.
pub fn pixels(image: &[u8], size: u32) -> Result<Vec<u8>, String> {
    let format =
        ImageFormat::sniff(image).ok_or_else(|| "the input is neither a JPEG nor a PNG image".to_string())?;
    host::load_rgb8(image, format, size, size).ok_or_else(|| "the host could not decode the image".to_string())
}

/// The example's sentence for the best of `scores`.
pub fn sentence(labels: &[String], scores: &[u8]) -> String {
    let (index, score) = scores
        .iter()
        .enumerate()
        .fold((0, 0u8), |(bi, bs), (i, &s)| if s > bs { (i, s) } else { (bi, bs) });
    if score <= NOTHING {
        return "It does not appear to be a known object in the picture.".to_string();
    }
    let confidence = if score > VERY_LIKELY {
        "is very likely"
    } else if score > LIKELY {
        "is likely"
    } else {
        "could be"
    };
    let label = labels.get(index).map(String::as_str).unwrap_or("unlabelled object");
    format!(
        "It {} a <a href='https://www.google.com/search?q={}'>{}</a> in the picture",
        confidence, label, label
    )
}
