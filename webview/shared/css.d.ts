/** Stylesheets imported by an app: esbuild emits them beside its bundle. */
declare module '*.css';
