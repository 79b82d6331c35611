//! The WasmEdge host functions this guest calls, and thin safe wrappers over them.
//!
//! Wasm types follow WasmEdge's ABI: pointers and lengths are i32, session and tensor
//! handles are i64, and a handle of 0 means "none".

#[link(wasm_import_module = "wasmedge_tensorflowlite")]
extern "C" {
    fn wasmedge_tensorflowlite_create_session(model_ptr: *const u8, model_len: u32) -> u64;
    fn wasmedge_tensorflowlite_delete_session(session: u64);
    fn wasmedge_tensorflowlite_run_session(session: u64) -> u32;
    fn wasmedge_tensorflowlite_get_output_tensor(
        session: u64,
        name_ptr: *const u8,
        name_len: u32,
    ) -> u64;
    fn wasmedge_tensorflowlite_get_tensor_len(tensor: u64) -> u32;
    fn wasmedge_tensorflowlite_get_tensor_data(tensor: u64, dst_ptr: *mut u8);
    fn wasmedge_tensorflowlite_append_input(
        session: u64,
        name_ptr: *const u8,
        name_len: u32,
        data_ptr: *const u8,
        data_len: u32,
    );
}

#[link(wasm_import_module = "wasmedge_image")]
extern "C" {
    fn wasmedge_image_load_jpg_to_rgb8(
        img_ptr: *const u8,
        img_len: u32,
        width: u32,
        height: u32,
        dst_ptr: *mut u8,
    ) -> u32;
    fn wasmedge_image_load_png_to_rgb8(
        img_ptr: *const u8,
        img_len: u32,
        width: u32,
        height: u32,
        dst_ptr: *mut u8,
    ) -> u32;
}

/// The encoded image formats the host can decode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ImageFormat {
    Jpeg,
    Png,
}

impl ImageFormat {
    /// Recognises a format from the file's leading bytes.
    pub fn sniff(data: &[u8]) -> Option<ImageFormat> {
        if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if data.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(ImageFormat::Png)
        } else {
            None
        }
    }
}

/// Decodes `image` and resizes it to `width`×`height` RGB, 8 bits per channel.
/// Returns `None` when the host cannot decode the image.
pub fn load_rgb8(image: &[u8], format: ImageFormat, width: u32, height: u32) -> Option<Vec<u8>> {
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    let status = unsafe {
        match format {
            ImageFormat::Jpeg => wasmedge_image_load_jpg_to_rgb8(
                image.as_ptr(),
                image.len() as u32,
                width,
                height,
                pixels.as_mut_ptr(),
            ),
            ImageFormat::Png => wasmedge_image_load_png_to_rgb8(
                image.as_ptr(),
                image.len() as u32,
                width,
                height,
                pixels.as_mut_ptr(),
            ),
        }
    };
    if status == 0 {
        Some(pixels)
    } else {
        None
    }
}

/// A TensorFlow-Lite session on the host; deleted when dropped.
pub struct Session {
    handle: u64,
}

impl Session {
    /// Creates a session from a `.tflite` model held in guest memory.
    pub fn new(model: &[u8]) -> Option<Session> {
        let handle =
            unsafe { wasmedge_tensorflowlite_create_session(model.as_ptr(), model.len() as u32) };
        if handle == 0 {
            None
        } else {
            Some(Session { handle })
        }
    }

    /// Copies `data` into the input tensor called `name` (the host ignores unknown names).
    pub fn set_input(&mut self, name: &str, data: &[u8]) {
        unsafe {
            wasmedge_tensorflowlite_append_input(
                self.handle,
                name.as_ptr(),
                name.len() as u32,
                data.as_ptr(),
                data.len() as u32,
            )
        }
    }

    /// Runs the model; false when the interpreter reports a failure.
    pub fn run(&mut self) -> bool {
        unsafe { wasmedge_tensorflowlite_run_session(self.handle) == 0 }
    }

    /// The bytes of the output tensor called `name`, or `None` if there is no such output.
    pub fn output(&self, name: &str) -> Option<Vec<u8>> {
        let tensor = unsafe {
            wasmedge_tensorflowlite_get_output_tensor(self.handle, name.as_ptr(), name.len() as u32)
        };
        if tensor == 0 {
            return None;
        }
        let len = unsafe { wasmedge_tensorflowlite_get_tensor_len(tensor) } as usize;
        let mut data = vec![0u8; len];
        unsafe { wasmedge_tensorflowlite_get_tensor_data(tensor, data.as_mut_ptr()) };
        Some(data)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        unsafe { wasmedge_tensorflowlite_delete_session(self.handle) }
    }
}
