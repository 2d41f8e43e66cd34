//! The render node: takes render jobs, composites scenes with GStreamer, encodes and pushes RTMP.
