//! The I420 frame the compositor draws into, and borrowed views of planar frames.

use super::yuv::Yuv;

/// An owned I420 frame with tightly packed planes (strides equal to widths).
///
/// Width and height are even, as H.264 4:2:0 requires, so every chroma sample covers
/// exactly one 2×2 block of luma.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with `fill`. Odd sizes are rounded up to even.
    pub fn new(width: usize, height: usize, fill: Yuv) -> Self {
        let (width, height) = (width.next_multiple_of(2), height.next_multiple_of(2));
        let c = (width / 2) * (height / 2);
        Canvas {
            width,
            height,
            y: vec![fill.y; width * height],
            u: vec![fill.u; c],
            v: vec![fill.v; c],
        }
    }

    /// Paints the whole canvas one colour.
    pub fn fill(&mut self, c: Yuv) {
        self.y.fill(c.y);
        self.u.fill(c.u);
        self.v.fill(c.v);
    }

    /// Bytes of one frame in I420.
    pub fn byte_len(&self) -> usize {
        self.y.len() + self.u.len() + self.v.len()
    }

    /// Writes the three planes back to back, the layout of an I420 buffer with no padding.
    pub fn write_i420(&self, out: &mut [u8]) {
        let (y, rest) = out.split_at_mut(self.y.len());
        let (u, v) = rest.split_at_mut(self.u.len());
        y.copy_from_slice(&self.y);
        u.copy_from_slice(&self.u);
        v[..self.v.len()].copy_from_slice(&self.v);
    }

    /// The colour at a luma position (chroma from its 2×2 block).
    pub fn pixel(&self, x: usize, y: usize) -> Yuv {
        let ci = (y / 2) * (self.width / 2) + x / 2;
        Yuv {
            y: self.y[y * self.width + x],
            u: self.u[ci],
            v: self.v[ci],
        }
    }

    /// Borrows the canvas as a planar view.
    pub fn view(&self) -> PlanarView<'_> {
        PlanarView {
            width: self.width,
            height: self.height,
            y: &self.y,
            y_stride: self.width,
            u: &self.u,
            u_stride: self.width / 2,
            v: &self.v,
            v_stride: self.width / 2,
        }
    }
}

/// A borrowed I420 frame with arbitrary strides (a decoded video frame, another canvas).
#[derive(Debug, Clone, Copy)]
pub struct PlanarView<'a> {
    pub width: usize,
    pub height: usize,
    pub y: &'a [u8],
    pub y_stride: usize,
    pub u: &'a [u8],
    pub u_stride: usize,
    pub v: &'a [u8],
    pub v_stride: usize,
}

impl PlanarView<'_> {
    /// Whether every plane is long enough for the claimed size and strides, so blending
    /// can slice rows without going out of bounds.
    pub fn is_consistent(&self) -> bool {
        let (cw, ch) = (self.width.div_ceil(2), self.height.div_ceil(2));
        let fits = |len: usize, stride: usize, w: usize, h: usize| {
            h == 0 || (stride >= w && len >= stride * (h - 1) + w)
        };
        fits(self.y.len(), self.y_stride, self.width, self.height)
            && fits(self.u.len(), self.u_stride, cw, ch)
            && fits(self.v.len(), self.v_stride, cw, ch)
    }
}
