package temporalclient

// DialHint is dialHint, for the tests.
var DialHint = dialHint
