"""The runners a Function step's process starts (package data, read by :mod:`app.flows.runtimes`)."""
