//! Layer geometry over time: where a layer is at a given output frame.
//!
//! Time is counted in output frames, not wall-clock time, so an animation looks the same
//! whether the node renders in real time or as fast as it can (benchmarks, tests).

use shared::layer::Layer;
use shared::transition::Easing;

/// Everything about a layer that can be animated, in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// 0..=1.
    pub opacity: f64,
}

impl Geometry {
    /// A layer's resting geometry.
    pub fn of(layer: &Layer) -> Self {
        Geometry {
            x: f64::from(layer.position.x),
            y: f64::from(layer.position.y),
            width: f64::from(layer.size.width),
            height: f64::from(layer.size.height),
            opacity: f64::from(layer.opacity).clamp(0.0, 1.0),
        }
    }

    fn lerp(a: Geometry, b: Geometry, t: f64) -> Geometry {
        let l = |p: f64, q: f64| p + (q - p) * t;
        Geometry {
            x: l(a.x, b.x),
            y: l(a.y, b.y),
            width: l(a.width, b.width),
            height: l(a.height, b.height),
            opacity: l(a.opacity, b.opacity),
        }
    }

    /// Integer position and size, with sizes at least one pixel.
    pub fn pixels(&self) -> (i32, i32, usize, usize) {
        (
            self.x.round() as i32,
            self.y.round() as i32,
            self.width.round().max(1.0) as usize,
            self.height.round().max(1.0) as usize,
        )
    }

    /// Opacity as an 8-bit weight.
    pub fn alpha8(&self) -> u8 {
        (self.opacity.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

/// Number of output frames an animation of `ms` milliseconds spans at `fps`.
pub fn frames_for(ms: u32, fps: u32) -> u64 {
    (u64::from(ms) * u64::from(fps)).div_ceil(1000)
}

/// Eased progress 0..=1 of an animation that started at `start` and lasts `frames`.
pub fn progress(start: u64, frames: u64, easing: Easing, now: u64) -> f64 {
    if frames == 0 || now >= start + frames {
        return 1.0;
    }
    let t = now.saturating_sub(start) as f64 / frames as f64;
    easing.apply(t)
}

/// A geometry moving from one value to another over a number of frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tween {
    from: Geometry,
    to: Geometry,
    start: u64,
    frames: u64,
    easing: Easing,
}

impl Tween {
    /// A layer at rest.
    pub fn still(g: Geometry) -> Self {
        Tween {
            from: g,
            to: g,
            start: 0,
            frames: 0,
            easing: Easing::Linear,
        }
    }

    /// Moves from wherever this tween is at frame `now` to `to` over `frames`.
    pub fn retarget(&self, now: u64, to: Geometry, frames: u64, easing: Easing) -> Self {
        if frames == 0 {
            return Tween::still(to);
        }
        Tween {
            from: self.at(now),
            to,
            start: now,
            frames,
            easing,
        }
    }

    /// The geometry at output frame `now`.
    pub fn at(&self, now: u64) -> Geometry {
        if self.frames == 0 || now >= self.start + self.frames {
            return self.to;
        }
        Geometry::lerp(
            self.from,
            self.to,
            progress(self.start, self.frames, self.easing, now),
        )
    }

    /// Whether the tween still changes after frame `now`.
    pub fn is_running(&self, now: u64) -> bool {
        self.frames > 0 && now < self.start + self.frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(x: f64) -> Geometry {
        Geometry {
            x,
            y: 0.0,
            width: 10.0,
            height: 10.0,
            opacity: 1.0,
        }
    }

    #[test]
    fn tween_reaches_target_and_passes_midpoint() {
        let t = Tween::still(g(0.0)).retarget(10, g(100.0), 10, Easing::Linear);
        assert_eq!(t.at(10).x, 0.0);
        assert_eq!(t.at(15).x, 50.0);
        assert_eq!(t.at(20).x, 100.0);
        assert!(t.is_running(19) && !t.is_running(20));
        let t2 = t.retarget(15, g(0.0), 0, Easing::Linear);
        assert_eq!(t2.at(15).x, 0.0);
        assert_eq!(frames_for(500, 30), 15);
    }
}
