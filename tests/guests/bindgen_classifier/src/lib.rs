//! The image-recognition function as the demo repository's later guests wrote it:
//! `#[wasmedge_bindgen] pub fn infer(image_data: Vec<u8>) -> Result<Vec<u8>, String>`,
//! classifying through WasmEdge's TensorFlow-Lite and image host functions. `echo` and
//! `numbers` exercise the other argument and result types (the 0.4 macro cannot return a
//! `bool`: it calls `to_le_bytes` on it).

use std::cell::RefCell;

#[cfg(feature = "v01")]
use macro01::wasmedge_bindgen;
#[cfg(all(feature = "v04", not(feature = "v01")))]
use macro04::wasmedge_bindgen;
#[allow(unused_imports)]
use wasmedge_bindgen::*;

#[path = "../../../../examples/image_recognition/guest/src/host.rs"]
mod host;
#[path = "../../../../examples/image_recognition/guest/src/zip.rs"]
mod zip;
#[path = "../../shared/classify.rs"]
mod classify;

struct Model {
    bytes: Vec<u8>,
    labels: Vec<String>,
}

thread_local! {
    // Read on the first call and kept for the instance's lifetime.
    static MODEL: RefCell<Option<Model>> = RefCell::new(None);
}

fn classify_image(image: &[u8]) -> Result<String, String> {
    MODEL.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let bytes = classify::model_bytes()?;
            let labels = classify::labels_of(&bytes)?;
            *slot = Some(Model { bytes, labels });
        }
        let model = slot.as_ref().unwrap();
        let pixels = classify::pixels(image, classify::input_size())?;
        // A session per call, as the demo's function did; the host keeps it warm.
        let mut session =
            host::Session::new(&model.bytes).ok_or_else(|| "the host rejected the model".to_string())?;
        session.set_input(&classify::setting("INFER_INPUT", "images"), &pixels);
        if !session.run() {
            return Err("the model failed to run".to_string());
        }
        let scores = session
            .output(&classify::setting("INFER_OUTPUT", "Softmax"))
            .ok_or_else(|| "the model has no such output tensor".to_string())?;
        Ok(classify::sentence(&model.labels, &scores))
    })
}

#[wasmedge_bindgen]
pub fn infer(image_data: Vec<u8>) -> Result<Vec<u8>, String> {
    classify_image(&image_data).map(String::into_bytes)
}

#[wasmedge_bindgen]
pub fn echo(data: Vec<u8>) -> Vec<u8> {
    data
}

#[wasmedge_bindgen]
pub fn numbers(a: i32, b: f64, text: String) -> (i64, f64, String, Vec<u16>) {
    (a as i64 * 2, b / 2.0, text.to_uppercase(), vec![a as u16, 7])
}
