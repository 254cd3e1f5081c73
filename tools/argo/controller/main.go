// Command workflow-controller runs Argo's own workflow controller (the
// published github.com/argoproj/argo-workflows/v4 module, package
// workflow/controller) for Sluice's test cluster. Nothing of it ships.
//
// It differs from upstream's cmd/workflow-controller only in what it leaves
// out, so that a test run opens no port beyond loopback:
//   - no :6060 health/pprof listener (upstream binds it on every interface);
//   - no Prometheus server (metrics are also disabled in the ConfigMap);
//   - no leader election (one controller per test run).
//
// Usage: workflow-controller --kubeconfig FILE --namespace NS [--configmap NAME]
//
//	[--executor-image IMAGE] [--loglevel info] [--workflow-workers N]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	wfclientset "github.com/argoproj/argo-workflows/v4/pkg/client/clientset/versioned"
	"github.com/argoproj/argo-workflows/v4/util/logging"
	"github.com/argoproj/argo-workflows/v4/workflow/common"
	"github.com/argoproj/argo-workflows/v4/workflow/controller"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server (required)")
	namespace := flag.String("namespace", "argo", "the controller's own namespace (its ConfigMap lives here)")
	managed := flag.String("managed-namespace", "", "watch only this namespace (default: all)")
	configMap := flag.String("configmap", common.ConfigMapName, "name of the controller ConfigMap")
	executorImage := flag.String("executor-image", "quay.io/argoproj/argoexec:v4.0.5", "argoexec image named in pods (never pulled here)")
	logLevel := flag.String("loglevel", "info", "debug|info|warn|error")
	workers := flag.Int("workflow-workers", 8, "number of workflow workers")
	podCleanupWorkers := flag.Int("pod-cleanup-workers", 2, "number of pod clean-up workers")
	qps := flag.Float64("qps", 50, "API server queries per second")
	burst := flag.Int("burst", 100, "API server burst")
	flag.Parse()
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "workflow-controller: --kubeconfig is required")
		os.Exit(2)
	}

	level, err := logging.ParseLevel(*logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "workflow-controller:", err)
		os.Exit(2)
	}
	log := logging.NewSlogLogger(level, logging.Text)
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	ctx = logging.WithLogger(ctx, log)

	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(err)
	}
	config.QPS = float32(*qps)
	config.Burst = *burst
	kubeclient := kubernetes.NewForConfigOrDie(config)
	wfclient := wfclientset.NewForConfigOrDie(config)

	wfc, err := controller.NewWorkflowController(ctx, config, kubeclient, wfclient, *namespace, *managed,
		*executorImage, "", "text", *configMap, false)
	if err != nil {
		fail(err)
	}
	log.Info(ctx, "workflow-controller (Sluice test harness): single instance, no :6060, no metrics server")
	go wfc.Run(ctx, *workers, 1, *podCleanupWorkers, 1, 1)
	<-ctx.Done()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "workflow-controller:", err)
	os.Exit(1)
}
