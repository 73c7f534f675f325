import { setBackend, tensor, matmul, tidy } from '@mamba3/tensor';
import '@mamba3/backend-cpu'; // registers the `cpu` backend
await setBackend('cpu');
const y = tidy(() => matmul(tensor([[1, 2], [3, 4]]), tensor([[5], [6]])));
console.log(await y.array()); // [[17], [39]]
