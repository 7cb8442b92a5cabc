//! placeholder until the chat service lands
