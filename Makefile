# The two commands of the README. Each bootstraps .venv from requirements.lock first.
.PHONY: demo test bootstrap bench clean

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/litmos-sync demo

test: bootstrap
	scripts/test.sh

bench: bootstrap
	.venv/bin/python -m bench

clean:
	rm -rf .venv litmos.duckdb litmos_demo state/* demo_output
