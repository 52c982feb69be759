/*
Copyright 2026 The gracefuldrain Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// localcluster runs a real etcd and kube-apiserver (controller-runtime's
// envtest, with the binaries of hack/k8s-binaries.sh) with gracefuldrain's CRD
// installed, writes an admin kubeconfig, and runs until it gets SIGINT/SIGTERM.
// `make demo` uses it; it is also handy for trying the operator by hand.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func main() {
	kubeconfig := flag.String("write-kubeconfig", "", "Where to write the admin kubeconfig (required).")
	crds := flag.String("crds", filepath.Join("config", "crd", "bases"), "Directory of CRDs to install.")
	flag.Parse()
	if *kubeconfig == "" || os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "usage: KUBEBUILDER_ASSETS=<dir with etcd, kube-apiserver> localcluster --write-kubeconfig FILE")
		os.Exit(2)
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{*crds}, ErrorIfCRDPathMissing: true}
	if _, err := env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting control plane:", err)
		os.Exit(1)
	}
	code := 0
	if err := writeKubeconfig(env, *kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	} else {
		fmt.Fprintf(os.Stderr, "control plane up at %s; kubeconfig %s\n", env.Config.Host, *kubeconfig)
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
		<-stop
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping control plane:", err)
	}
	os.Exit(code)
}

func writeKubeconfig(env *envtest.Environment, path string) error {
	user, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("creating admin user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("rendering kubeconfig: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path) // the demo script waits for the file: write it whole
}
