// The tests' lint rules live with the web app's, whose packages they use (`npm run lint` in web/).
export { testsConfig as default } from '../web/eslint.config.js';
