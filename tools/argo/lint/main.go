// Command argo-lint lints Argo manifests offline and strictly, as
// `argo lint --offline --strict` does, using Argo's own lint and validation
// packages. It is a test oracle for Sluice's compiler; nothing of it ships.
//
// Usage: argo-lint [-o pretty|simple|json] FILE_OR_DIR...
//
// Exit status: 0 when every object linted cleanly, 1 when any object failed
// (or nothing lintable was found), 2 on a usage or I/O error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/argoproj/argo-workflows/v4/cmd/argo/lint"
	"github.com/argoproj/argo-workflows/v4/pkg/apiclient"
	"github.com/argoproj/argo-workflows/v4/util/logging"
)

type fileResult struct {
	File   string   `json:"file"`
	Linted bool     `json:"linted"`
	Errors []string `json:"errors"`
}

func main() {
	output := flag.String("o", "pretty", "output format: pretty, simple or json")
	flag.Parse()
	files := flag.Args()
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "usage: argo-lint [-o pretty|simple|json] FILE_OR_DIR...")
		os.Exit(2)
	}
	// Argo logs YAML that is not a Kubernetes object at error level; keep
	// that on stderr, away from the results.
	ctx := logging.WithLogger(context.Background(), logging.NewSlogLogger(logging.Warn, logging.Text))

	// The offline client resolves templateRef/workflowTemplateRef against the
	// (Cluster)WorkflowTemplates found in the same files, as `argo lint --offline` does.
	ctx, client, err := apiclient.NewClientFromOptsWithContext(ctx, apiclient.Opts{Offline: true, OfflineFiles: files})
	if err != nil {
		fail(err)
	}
	// Offline, `argo lint` lints with no default namespace, so templates without
	// one resolve against each other.
	opts := lint.LintOptions{Files: files, Strict: true, DefaultNamespace: ""}
	opts.ServiceClients.WorkflowsClient = client.NewWorkflowServiceClient(ctx)
	if opts.ServiceClients.WorkflowTemplatesClient, err = client.NewWorkflowTemplateServiceClient(); err != nil {
		fail(err)
	}
	if opts.ServiceClients.CronWorkflowsClient, err = client.NewCronWorkflowServiceClient(); err != nil {
		fail(err)
	}
	if opts.ServiceClients.ClusterWorkflowTemplateClient, err = client.NewClusterWorkflowTemplateServiceClient(); err != nil {
		fail(err)
	}
	if *output != "json" {
		if opts.Formatter, err = lint.GetFormatter(*output); err != nil {
			fail(err)
		}
		opts.Printer = os.Stdout
	}

	res, err := lint.Lint(ctx, &opts)
	if err != nil {
		fail(err)
	}
	if *output == "json" {
		out := []fileResult{}
		for _, r := range res.Results {
			fr := fileResult{File: r.File, Linted: r.Linted, Errors: []string{}}
			for _, e := range r.Errs {
				fr.Errors = append(fr.Errors, e.Error())
			}
			out = append(out, fr)
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fail(err)
		}
	}
	if !res.Success {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "argo-lint:", err)
	os.Exit(2)
}
