//! driver (to be written).
