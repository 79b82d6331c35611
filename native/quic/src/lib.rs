//! rxyomo's native QUIC core: quinn-proto's sans-I/O state machine (rustls on ring)
//! exposed to Python, one endpoint object per UDP socket.

mod config;
mod conn;
mod endpoint;
mod refuse;
mod session;
mod track;

use pyo3::prelude::*;

#[pymodule]
fn rxyomo_quic(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<endpoint::Endpoint>()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
