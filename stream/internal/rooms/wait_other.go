//go:build !unix

package rooms

// waitReadable cannot wait on the bare connection here: the reader waits in gorilla.
func waitReadable(any) (bool, error) { return false, nil }
