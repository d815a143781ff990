//! A valid component of another world (it exports `run`, not `handle`): the host must refuse it
//! at load time.

wit_bindgen::generate!({
    inline: "
        package other:thing;
        world not-a-task {
            export run: func() -> string;
        }
    ",
});

struct NotATask;

impl Guest for NotATask {
    fn run() -> String {
        "I am not a Fusion task".into()
    }
}

export!(NotATask);
