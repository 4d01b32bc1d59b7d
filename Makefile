# The two set-up commands (they install whatever is missing):
#   make serve   open the console against the sandbox
#   make test    run every test
.PHONY: serve test lint pkg size sandbox bench-heartbeat bench-cdr shift fuzz load-gateway

serve:
	scripts/serve.sh

test:
	scripts/test.sh

# rustfmt and clippy -D warnings on every crate and target (also a stage of `make test`).
lint:
	scripts/lint.sh

# The embeddable package (ES module + .d.ts + wasm, no Yew) into pkg/.
pkg:
	scripts/pkg.sh

# Brotli of the console, the package and one package a backend against their budgets
# and ceilings (scripts/size-budgets.json), then code size per crate and function.
size:
	scripts/size.sh

# The sandbox alone on 127.0.0.1:8081.
sandbox:
	cargo run -p agent-console-sandbox --bin sandbox

# Heartbeat intervals visible and hidden, and freeze recovery (prints figures).
bench-heartbeat:
	scripts/bench-heartbeat.sh

# The PBX call log with 10 000 rows: first paint, scroll steps, DOM rows; first paint
# of the console against a Yew hello-world, and the ratio (prints figures).
bench-cdr:
	scripts/bench-cdr.sh

# A ten-hour shift in virtual time against the sandbox (prints figures; also part of make test).
shift:
	cargo test -p agent-console-sandbox --test shift -- --nocapture

# Every decoder of outside input under 10^7 hostile inputs in all, optimised
# with overflow checks on (prints inputs, inputs/s and findings per decoder).
fuzz:
	scripts/fuzz.sh

# The gateway with 1000 consoles on loopback: added latency, memory per console,
# events delivered all and once (prints figures; CONSOLES=N SECS=S to change).
load-gateway:
	scripts/load-gateway.sh
