# Goscope — the two commands users need: `make demo` and `make test`.
# Both install what is missing (Debian 12, as root), build, then run.
SHELL := /bin/bash
MVN ?= mvn -B -ntp
DIST := dist/target/goscope

# The line with postgresql: database servers and Debian's GOPATH drivers of the data-layer e2e tests (issue 8).
APT_PACKAGES := openjdk-17-jdk-headless maven clang llvm libbpf-dev libbpf1 bpftool golang-go \
	libcapstone4 libcapstone-dev gcc binutils npm util-linux iproute2 curl unzip golang-google-grpc-dev \
	python3-prometheus-client libcap2-bin openssl \
	postgresql mariadb-server redis-server golang-github-lib-pq-dev golang-github-mattn-go-sqlite3-dev

.PHONY: deps build demo test bench clean

deps:
	@./.ci/install-deps $(APT_PACKAGES)
	@./.ci/mount-bpffs

build: deps
	$(MVN) -DskipTests package

demo: build
	$(DIST)/bin/goscope demo

test: deps
	GOSCOPE_ESBUILD=$$(./.ci/fetch-test-binaries esbuild) GOSCOPE_NODE_EXPORTER=$$(./.ci/fetch-test-binaries node-exporter) \
	  GOSCOPE_ESBUILD_MATRIX="$$(./.ci/fetch-test-binaries esbuild-matrix)" \
	  GOSCOPE_GO_TOOLCHAINS="$$(./.ci/fetch-test-binaries go-toolchains)" \
	  GOSCOPE_GO_MODULES="$$(./.ci/fetch-test-binaries go-modules)" \
	  $(MVN) verify

bench: build
	@./.ci/install-deps wrk
	./dist/bench/run-all.sh

clean:
	$(MVN) -q clean
