package broker

import "encoding/json"

// ControlErase: a user's data was erased (docs/PROTOCOL.md "Erasure"). It travels
// on the broadcast log's channel, which every instance with an open stream listens to,
// and Data is {"user":"<id>"}: each instance closes that user's streams and room sockets
// on receipt. It is never handed to a stream as a frame.
const ControlErase ControlKind = "erase"

// EraseData is the data of a ControlErase for user.
func EraseData(user string) []byte {
	b, _ := json.Marshal(struct {
		User string `json:"user"`
	}{user})
	return b
}

// ErasedUser reads the user of a ControlErase's data ("" when it names none).
func ErasedUser(data []byte) string {
	var v struct {
		User string `json:"user"`
	}
	_ = json.Unmarshal(data, &v)
	return v.User
}
