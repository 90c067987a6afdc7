// Package suites holds the Ginkgo suites: the conformance suite that
// `make conformance` runs against built-in, external and remote targets,
// and the robustness suite. Their cases and engine live in conformance/.
package suites
