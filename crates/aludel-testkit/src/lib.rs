//! Test helpers for aludel (being built).
