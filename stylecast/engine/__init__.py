"""The engine: a frame in, a painted frame out (stylizer, style mixer, upsampling,
processing size) and building one from options."""
