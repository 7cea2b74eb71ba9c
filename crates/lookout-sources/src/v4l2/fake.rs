//! A scripted [`CaptureDevice`] for unit tests: it offers given formats, records what the
//! capture logic asks of it and serves frames and errors from a script.

use super::capture::{ActualFormat, CaptureDevice, DriverTimestamp, Opener, RawFrame};
use super::controls::{ControlInfo, ControlKind};
use super::formats::{Choice, FormatOffer, PixelFormat};
use lookout_core::{Error, ErrorKind};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Decides when the next scripted item may be served, given how many were served: lets a
/// test keep the device in step with the consumer so no frame is skipped.
pub type Gate = Arc<dyn Fn(usize) -> bool + Send + Sync>;

pub struct FakeState {
    pub offers: Vec<FormatOffer>,
    pub controls: Vec<ControlInfo>,
    /// Every `set_control` call, in order, across all opens.
    pub set_calls: Vec<(u32, i64)>,
    pub configured: Vec<Choice>,
    pub buffers: u32,
    pub started: bool,
    pub opens: usize,
    /// A device was dropped (closed).
    pub dropped: bool,
    /// Served by `next_frame` one per call, across opens.
    pub script: VecDeque<Result<RawFrame, Error>>,
    /// Served once the script is empty; without it, an empty script times out.
    pub endless: Option<RawFrame>,
    pub gate: Option<Gate>,
    pub served: usize,
    /// What `configure` reports instead of the choice.
    pub actual: Option<ActualFormat>,
}

#[derive(Clone)]
pub struct FakeCamera {
    shared: Arc<Mutex<FakeState>>,
}

impl FakeCamera {
    pub fn new(offers: Vec<FormatOffer>) -> Self {
        Self {
            shared: Arc::new(Mutex::new(FakeState {
                offers,
                controls: Vec::new(),
                set_calls: Vec::new(),
                configured: Vec::new(),
                buffers: 0,
                started: false,
                opens: 0,
                dropped: false,
                script: VecDeque::new(),
                endless: None,
                gate: None,
                served: 0,
                actual: None,
            })),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens the camera.
    pub fn device(&self) -> FakeDevice {
        let mut state = self.state();
        state.opens += 1;
        state.started = false;
        FakeDevice {
            shared: self.shared.clone(),
        }
    }

    pub fn opener(&self) -> Opener {
        let cam = self.clone();
        Box::new(move || Ok(Box::new(cam.device()) as Box<dyn CaptureDevice>))
    }
}

pub struct FakeDevice {
    shared: Arc<Mutex<FakeState>>,
}

impl FakeDevice {
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FakeDevice {
    fn drop(&mut self) {
        self.state().dropped = true;
    }
}

impl CaptureDevice for FakeDevice {
    fn offers(&mut self) -> Result<Vec<FormatOffer>, Error> {
        Ok(self.state().offers.clone())
    }

    fn controls(&mut self) -> Result<Vec<ControlInfo>, Error> {
        Ok(self.state().controls.clone())
    }

    fn set_control(&mut self, id: u32, value: i64) -> Result<(), Error> {
        let mut state = self.state();
        state.set_calls.push((id, value));
        let control = state
            .controls
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| Error::invalid(format!("no control {id:#x}")))?;
        control.current = value;
        Ok(())
    }

    fn configure(&mut self, choice: &Choice, buffers: u32) -> Result<ActualFormat, Error> {
        let mut state = self.state();
        state.configured.push(*choice);
        state.buffers = buffers;
        Ok(state.actual.unwrap_or(ActualFormat {
            format: choice.format,
            width: choice.width,
            height: choice.height,
            bytesperline: 0,
            fps: choice.fps,
        }))
    }

    fn start(&mut self) -> Result<(), Error> {
        self.state().started = true;
        Ok(())
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Option<RawFrame>, Error> {
        let gate = self.state().gate.clone();
        if let Some(gate) = gate {
            let served = self.state().served;
            let deadline = Instant::now() + Duration::from_secs(10);
            while !gate(served) {
                if Instant::now() > deadline {
                    return Err(Error::new(ErrorKind::Timeout, "fake: the gate stayed shut"));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let mut state = self.state();
        let next = match state.script.pop_front() {
            Some(item) => Some(item),
            None => state.endless.clone().map(Ok),
        };
        match next {
            Some(item) => {
                // Errors are not frames: the gate counts frames the consumer handled.
                if item.is_ok() {
                    state.served += 1;
                }
                item.map(Some)
            }
            None => {
                drop(state);
                std::thread::sleep(timeout.min(Duration::from_millis(10)));
                Ok(None)
            }
        }
    }
}

pub fn offer(format: PixelFormat, width: u32, height: u32, fps: &[f64]) -> FormatOffer {
    FormatOffer {
        format,
        width,
        height,
        fps: fps.to_vec(),
    }
}

pub fn frame(data: Vec<u8>) -> RawFrame {
    RawFrame {
        data,
        timestamp: DriverTimestamp::None,
        sequence: 0,
        damaged: false,
    }
}

pub fn int_control(id: u32, name: &str, min: i64, max: i64, default: i64) -> ControlInfo {
    ControlInfo {
        id,
        name: name.into(),
        kind: ControlKind::Integer {
            min,
            max,
            step: 1,
            default,
        },
        current: default,
        read_only: false,
        inactive: false,
    }
}
