//! The prober role: reads stored media with bounded range reads and finds width, height and duration.
