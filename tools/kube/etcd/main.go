// Command etcd is etcd's own server entry point, built from the etcd server
// module that k8s.io/kubernetes is pinned to, so the oracles need no system etcd.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
