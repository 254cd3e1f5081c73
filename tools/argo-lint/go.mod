module sluice.dev/tools/argo-lint

go 1.25.7

require github.com/argoproj/argo-workflows/v4 v4.0.5
