// Package localpath provides the node's side of the local-path provisioner: the
// directories that back local-path volumes, under one root on the node (the agent's
// DATA_DIR/storage, as k3s's /var/lib/rancher/k3s/storage).
//
// The agent serves them on its HTTPS endpoint, which only the API server reaches (the
// provisioner calls it through nodes/NAME/proxy):
//
//	POST   /localPath/NAME   makes the directory (mode 0777, as k3s's helper pod does)
//	                         and answers {"path": "/abs/path"}
//	DELETE /localPath/NAME   removes it and everything in it
//
// NAME is one path element of lowercase letters, digits, '-', '.' and '_' (the
// provisioner's "pvc-UID_NAMESPACE_NAME"), never "." or "..": a caller cannot reach
// outside the root. Removal does not follow symbolic links a container left inside.
package localpath
