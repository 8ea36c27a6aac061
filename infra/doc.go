// Package infra holds no code: its tests check the deployment artifacts (Terraform,
// cloudbuild.yaml, the Dockerfile and the function's uploaded source) with the tools
// that can run here, since neither Google Cloud nor a Docker engine can.
package infra
