//! Falco's rules language for rampart's monitor.
