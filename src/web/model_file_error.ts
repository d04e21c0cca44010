/** A model file (its container, manifest or tensors) is invalid; the message names what is wrong
 * and where (file, tensor name, byte offset or manifest field), for the page to show as is. */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
}
