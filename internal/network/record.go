package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// recordFile, in StateDir, keeps what New was given that the host's changes depend on
// (the pod and cluster CIDRs and the bridge), so that the node's network can be removed
// after the agent is gone, when nothing else remembers them.
const recordFile = "node-network.json"

type record struct {
	PodCIDR     string `json:"podCIDR"`
	ClusterCIDR string `json:"clusterCIDR,omitempty"`
	BridgeName  string `json:"bridgeName"`
}

// writeRecord saves s's record in its StateDir.
func writeRecord(s *settings) error {
	data, err := json.Marshal(record{PodCIDR: s.PodCIDR, ClusterCIDR: s.ClusterCIDR, BridgeName: s.BridgeName})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.StateDir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(s.StateDir, recordFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.StateDir, recordFile))
}

// Recorded returns the Config of the network last set up with state in stateDir, as
// far as removing it needs one, and false when none was.
func Recorded(stateDir string) (Config, bool, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, recordFile))
	if errors.Is(err, os.ErrNotExist) {
		return Config{}, false, nil
	}
	if err != nil {
		return Config{}, false, err
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return Config{}, false, fmt.Errorf("%s: %w", filepath.Join(stateDir, recordFile), err)
	}
	return Config{PodCIDR: r.PodCIDR, ClusterCIDR: r.ClusterCIDR, BridgeName: r.BridgeName, StateDir: stateDir}, true, nil
}
