//! A stream function in YoMo's Rust SDK, shaped like YoMo's own wasm example: it observes
//! 0x33 and answers with the text upper-cased on 0x34. A payload `split:a,b,c` answers once
//! per item instead, to show that a function may write any number of answers per frame, and
//! `fail` makes the handler return an error (the function goes on, with no answer).

use std::sync::atomic::{AtomicU32, Ordering};

static FRAMES: AtomicU32 = AtomicU32::new(0);

#[yomo::init]
fn init() -> Result<(), String> {
    FRAMES.store(0, Ordering::SeqCst);
    Ok(())
}

#[yomo::observe_datatags]
fn observe_datatags() -> Vec<u32> {
    vec![0x33]
}

#[yomo::handler]
fn handler(ctx: yomo::Context) -> Result<(), String> {
    let tag = ctx.get_tag();
    let input = ctx.load_input();
    let count = FRAMES.fetch_add(1, Ordering::SeqCst) + 1;
    println!("frame {} on tag {:#x}: {} bytes", count, tag, input.len());
    let text = String::from_utf8(input).map_err(|err| err.to_string())?;
    if text == "fail" {
        return Err("asked to fail".to_string());
    }
    match text.strip_prefix("split:") {
        Some(items) => {
            for item in items.split(',') {
                ctx.dump_output(0x34, item.to_uppercase().into_bytes());
            }
        }
        None => ctx.dump_output(0x34, text.to_uppercase().into_bytes()),
    }
    Ok(())
}
