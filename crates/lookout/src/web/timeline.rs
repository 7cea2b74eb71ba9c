//! The camera page's recording timeline (for cameras that record): the bar of what was
//! recorded when with event marks, the `<video>` that plays a recording, and the export form.
//! assets/timeline.js fills and drives them from `/api/cameras/{id}/recordings`.

use maud::{Markup, html};

/// The timeline's two parts: the recorded `<video>` beside the live picture, and the section
/// under the picture.
pub struct Timeline {
    pub recorded: Markup,
    pub section: Markup,
}

/// `b` is the base path.
pub fn timeline(b: &str, id: &str, name: &str) -> Timeline {
    Timeline {
        recorded: html! {
            figure class="cam large recorded" hidden data-recorded {
                video controls playsinline aria-label={ (name) ", recorded" } {}
            }
            "\n"
        },
        section: html! {
            section class="timeline" data-timeline
                data-list-url={ (b) "/api/cameras/" (id) "/recordings" }
                data-mp4-url={ (b) "/cameras/" (id) "/recording.mp4" } {
                "\n"
                h2 id="timeline-title" { "Recordings" }
                "\n"
                p class="actions" role="group" aria-label="Time shown" {
                    button type="button" data-window-h="1" aria-pressed="true" { "1 h" }
                    button type="button" data-window-h="6" aria-pressed="false" { "6 h" }
                    button type="button" data-window-h="24" aria-pressed="false" { "24 h" }
                    button type="button" class="primary" data-live disabled { "Live" }
                }
                "\n"
                div class="bar" data-bar role="slider" tabindex="0" aria-labelledby="timeline-title"
                    aria-valuemin="0" aria-valuemax="100" aria-valuenow="100"
                    aria-describedby="timeline-help" {}
                "\n"
                div class="ticks" data-ticks aria-hidden="true" {}
                "\n"
                p class="hint" id="timeline-help" { "Click the bar, or focus it and use the arrow keys and Enter, to play the recording from that moment. Marks are events." }
                "\n"
                p class="state" data-timeline-status aria-live="polite" {}
                "\n"
                form class="export" data-export {
                    h3 { "Export" }
                    label { "Start " input type="datetime-local" step="1" name="start" required; }
                    label { "End " input type="datetime-local" step="1" name="end" required; }
                    button type="submit" { "Make download link" }
                    " "
                    a data-export-link hidden download {}
                    " "
                    span class="state" data-export-status aria-live="polite" {}
                }
                "\n"
            }
            "\n"
        },
    }
}
